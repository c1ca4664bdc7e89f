import { abortableSleep } from "./backoff.ts";
import { abortedError, classifyAnswer } from "./classify-error.ts";
import { DEFAULT_SCRIPTED_REPLY, type Script, type ScriptStep } from "./script.ts";
import { splitText } from "./split-text.ts";
import { estimatePromptTokens, estimateTextTokens } from "./token-estimate.ts";
import type { ModelProvider, ModelRequest, StreamPart } from "./types.ts";

interface CompiledReply {
  when: RegExp | null;
  steps: ScriptStep[];
}

const defaultFallback: ScriptStep[] = [{ text: DEFAULT_SCRIPTED_REPLY, chunks: 1, delayMs: 0 }];

/**
 * The usage part of a step: the step's own `usage` when the script gives one, else the estimate
 * budgets and compaction use too (4 characters a token of the prompt and of the answer).
 */
function usagePart(step: ScriptStep | undefined, inputTokens: number, answer: string): StreamPart {
  const given = step !== undefined && "usage" in step ? step.usage : undefined;
  if (given === undefined) return { type: "usage", inputTokens, outputTokens: estimateTextTokens(answer) };
  return {
    type: "usage",
    inputTokens: given.input,
    outputTokens: given.output,
    ...(given.cached === undefined ? {} : { cachedInputTokens: given.cached }),
  };
}

/** Which step of which reply this call plays: the last user message picks the reply, the assistant turns since then the step. */
function pickStep(
  replies: CompiledReply[],
  fallback: ScriptStep[],
  request: ModelRequest,
): ScriptStep | undefined {
  let lastUser = -1;
  for (let i = request.messages.length - 1; i >= 0; i--) {
    if (request.messages[i]?.role === "user") {
      lastUser = i;
      break;
    }
  }
  const userMessage = request.messages[lastUser];
  const text = userMessage?.role === "user" ? userMessage.content : "";
  const reply = replies.find((r) => r.when?.test(text));
  const steps = reply ? reply.steps : fallback;
  const stepIndex = request.messages.slice(lastUser + 1).filter((m) => m.role === "assistant").length;
  return steps[stepIndex];
}

/**
 * The scripted provider (DESIGN §8): each call plays the next step of the first reply whose `when`
 * matches the last user message (else `fallback`). A text step streams `chunks` pieces `delayMs`
 * apart and finishes with `stop`; a tool step asks for one tool call (`tool-calls`); an error step
 * ends the call with that provider error (it repeats on a retry, since the request is the same);
 * past the last step each call just finishes with `stop`.
 */
export function createScriptedProvider(id: string, script: Script | undefined): ModelProvider {
  const replies: CompiledReply[] = (script?.replies ?? []).map((r) => ({
    when: new RegExp(r.when),
    steps: r.steps,
  }));
  const fallback = script?.fallback?.steps ?? (script ? [] : defaultFallback);
  let nextCallId = 0;

  async function* stream(request: ModelRequest, signal: AbortSignal): AsyncGenerator<StreamPart> {
    if (signal.aborted) {
      yield { type: "error", error: abortedError(id, signal.reason) };
      return;
    }
    const inputTokens = estimatePromptTokens(request);
    const step = pickStep(replies, fallback, request);
    if (!step) {
      yield usagePart(step, inputTokens, "");
      yield { type: "finish", reason: "stop" };
      return;
    }
    if ("error" in step) {
      const { status, message, retryAfterMs } = step.error;
      yield {
        type: "error",
        error: classifyAnswer({ providerId: id }, { status, message, retryAfterMs }),
      };
      return;
    }
    if ("tool" in step) {
      nextCallId += 1;
      yield {
        type: "tool-call",
        toolCallId: `call_scripted_${nextCallId}_${crypto.randomUUID().slice(0, 8)}`,
        toolName: step.tool,
        input: step.input ?? {},
      };
      yield usagePart(step, inputTokens, JSON.stringify(step.input ?? {}));
      yield { type: "finish", reason: "tool-calls" };
      return;
    }
    const pieces = splitText(step.text, step.chunks);
    for (const [index, piece] of pieces.entries()) {
      if (index > 0 && step.delayMs > 0 && !(await abortableSleep(step.delayMs, signal))) {
        yield { type: "error", error: abortedError(id, signal.reason) };
        return;
      }
      if (signal.aborted) {
        yield { type: "error", error: abortedError(id, signal.reason) };
        return;
      }
      if (piece !== "") yield { type: "text-delta", text: piece };
    }
    yield usagePart(step, inputTokens, step.text);
    yield { type: "finish", reason: "stop" };
  }

  return { id, kind: "scripted", stream };
}
