import type { NewEvent } from "@dispatch/conversation-store";
import {
  answerPartTypes,
  type CallContext,
  type FinishReason,
  type ModelMessage,
  type ModelRequest,
  type ProviderErrorInfo,
  type ProvidersService,
  type StreamPart,
} from "@dispatch/providers";
import type { TurnStatus } from "@dispatch/wire";
import type { RequestedToolCall } from "./tool-execution.ts";
import { capText } from "./tool-execution.ts";

/** Largest tool-call input copied into a `tool.call` event (the model message keeps all of it). */
export const maxEventInputBytes = 16 * 1024;

/** The parts of an assistant message. */
export type AssistantPart = Extract<ModelMessage, { role: "assistant" }>["parts"][number];

/** What one model call produced. */
export interface StepAnswer {
  /** Text, then tool calls: the assistant message of this step. */
  parts: AssistantPart[];
  calls: RequestedToolCall[];
  finishReason: FinishReason | undefined;
  error: ProviderErrorInfo | undefined;
  usage: { inputTokens: number; outputTokens: number; cachedInputTokens: number };
}

/** How a call shows in the event log; a step of the loop by default. */
export interface StepEvents {
  /** The event that says the call got its slot (`step.started` for a step). */
  started(attempt: number): Omit<NewEvent, "turnId">;
  /** What `turn.waiting` says the wait is for (`{ step }` for a step). */
  waitingFor: Record<string, unknown>;
  /** Whether requested tool calls become `tool.call` events (not for calls offered no tools). */
  toolCalls: boolean;
}

/** Inputs of one model call. */
export interface ModelStepInput {
  step: number;
  providerId: string;
  request: ModelRequest;
  providers: Pick<ProvidersService, "call">;
  context: CallContext;
  /** Receives text deltas (the turn's coalescer). */
  onText(text: string): void;
  /** Persists and publishes events of the turn, optionally moving its status. */
  emit(events: ReadonlyArray<Omit<NewEvent, "turnId">>, status?: TurnStatus): Promise<void>;
  /** Defaults to a step's events. */
  events?: StepEvents;
}

/**
 * Streams one model call and turns its parts into events. The providers service owns cancellation:
 * when the context's signal aborts it ends the model call at once, with what arrived so far, even if
 * the provider ignores the signal (the model-call gates get the signal and are waited for).
 */
export async function streamModelStep(input: ModelStepInput): Promise<StepAnswer> {
  const { step, emit } = input;
  const shown = input.events ?? {
    started: (attempt: number) => ({ type: "step.started", data: { step, attempt } }),
    waitingFor: { step },
    toolCalls: true,
  };
  const texts: string[] = [];
  const calls: RequestedToolCall[] = [];
  const callParts: AssistantPart[] = [];
  const usage = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 };
  let finishReason: FinishReason | undefined;
  let error: ProviderErrorInfo | undefined;
  let started = false;
  const start = (attempt: number) => {
    started = true;
    return emit([shown.started(attempt)], "running");
  };
  const take = (part: StreamPart): void | Promise<void> => {
    // An answer part before any `slot-granted` (a provider outside the service) starts the step.
    if (!started && answerPartTypes.has(part.type)) return start(1).then(() => take(part));
    switch (part.type) {
      case "waiting":
        return emit(
          [
            {
              type: "turn.waiting",
              data: {
                ...shown.waitingFor,
                reason: part.reason,
                attempt: part.attempt,
                ...(part.retryInMs === undefined ? {} : { retryInMs: part.retryInMs }),
                ...(part.message === undefined ? {} : { message: part.message }),
              },
            },
          ],
          "waiting",
        );
      case "slot-granted":
        return start(part.attempt);
      case "text-delta":
        texts.push(part.text);
        input.onText(part.text);
        return;
      case "tool-call":
        calls.push({ toolCallId: part.toolCallId, toolName: part.toolName, input: part.input });
        callParts.push({ ...callPartOf(part), input: part.input });
        if (!shown.toolCalls) return;
        return emit([{ type: "tool.call", data: { ...callIdsOf(part), input: eventInput(part.input) } }]);
      case "tool-call-error":
        calls.push({ ...callIdsOf(part), input: part.rawInput, invalid: part.message });
        // Provider APIs want an object as a tool call's input; the raw text is kept inside one.
        callParts.push({ ...callPartOf(part), input: { rawInput: part.rawInput } });
        if (!shown.toolCalls) return;
        return emit([
          {
            type: "tool.call",
            data: {
              ...callIdsOf(part),
              input: capText(part.rawInput, maxEventInputBytes),
              error: part.message,
            },
          },
        ]);
      case "usage":
        usage.inputTokens += part.inputTokens;
        usage.outputTokens += part.outputTokens;
        usage.cachedInputTokens += part.cachedInputTokens ?? 0;
        return;
      case "finish":
        finishReason = part.reason;
        return;
      case "error":
        error = part.error;
        return;
    }
  };
  await input.providers.call(input.providerId, input.request, input.context, take);
  const text = texts.join("");
  const parts: AssistantPart[] = text === "" ? callParts : [{ type: "text", text }, ...callParts];
  return { parts, calls, finishReason, error, usage };
}

function callIdsOf(part: { toolCallId: string; toolName: string }) {
  return { toolCallId: part.toolCallId, toolName: part.toolName };
}

function callPartOf(part: { toolCallId: string; toolName: string }) {
  return { type: "tool-call" as const, ...callIdsOf(part) };
}

function eventInput(value: unknown): unknown {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    return { unserialisable: true };
  }
  if (json === undefined || json.length * 3 <= maxEventInputBytes) return value;
  if (Buffer.byteLength(json, "utf8") <= maxEventInputBytes) return value;
  return { inputPreview: capText(json, maxEventInputBytes), truncated: true };
}
