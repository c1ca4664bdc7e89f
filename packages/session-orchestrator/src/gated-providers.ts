import { messageOf } from "@dispatch/kernel";
import {
  answerPartTypes,
  type CallContext,
  type ModelRequest,
  type PartSink,
  type ProviderErrorInfo,
  type ProvidersService,
  streamOfCall,
} from "@dispatch/providers";
import type { CallUsage, ModelCallGate, ModelCallPass } from "./model-call-gate.ts";

/**
 * The providers service as a turn sees it: every call passes the gates first, and each gate that
 * let it through is told how it ended. With no gates, calls go straight through.
 */
export function gatedProviders(
  providers: Pick<ProvidersService, "call">,
  gates: () => readonly ModelCallGate[],
  onFault: (kind: string, error: unknown) => void,
): Pick<ProvidersService, "call" | "stream"> {
  const call: ProvidersService["call"] = (providerId, request, context, sink) => {
    const list = gates();
    if (list.length === 0) return providers.call(providerId, request, context, sink);
    return gatedCall(providers, list, onFault, providerId, request, context, sink);
  };
  return { call, stream: streamOfCall(call) };
}

async function gatedCall(
  providers: Pick<ProvidersService, "call">,
  gates: readonly ModelCallGate[],
  onFault: (kind: string, error: unknown) => void,
  providerId: string,
  request: ModelRequest,
  context: CallContext,
  sink: PartSink,
): Promise<void> {
  const call = {
    turnId: context.turnId,
    conversationId: context.conversationId,
    workspaceId: context.workspaceId,
    providerId,
    model: request.model,
    request,
    signal: context.signal,
  };
  const passes: ModelCallPass[] = [];
  let usage: { inputTokens: number; outputTokens: number; cachedInputTokens: number } | undefined;
  let answered = false;
  try {
    for (const gate of gates) {
      let answer: Awaited<ReturnType<ModelCallGate["enter"]>>;
      try {
        answer = await gate.enter(call);
      } catch (error) {
        onFault(`model call gate ${gate.id}`, error);
        await sink({ type: "error", error: gateFailure(gate.id, error) });
        return;
      }
      if ("refused" in answer) {
        await sink({ type: "error", error: { ...answer.refused, retryable: false } });
        return;
      }
      passes.push(answer);
    }
    await providers.call(providerId, request, context, (part) => {
      if (part.type === "usage") {
        usage ??= { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 };
        usage.inputTokens += part.inputTokens;
        usage.outputTokens += part.outputTokens;
        usage.cachedInputTokens += part.cachedInputTokens ?? 0;
      } else if (answerPartTypes.has(part.type)) answered = true;
      return sink(part);
    });
  } finally {
    const outcome = { usage: usage as CallUsage | undefined, answered };
    for (const pass of passes) {
      const settled = pass.settle(outcome).catch((error: unknown) => onFault("model call settle", error));
      // A settle in the group commit is ordered before the turn's later writes: no need to wait.
      if (pass.groupedSettle !== true) await settled;
    }
  }
}

function gateFailure(id: string, error: unknown): ProviderErrorInfo {
  return {
    code: "stream_error",
    message: `the model call gate "${id}" failed before the call: ${messageOf(error)}`,
    retryable: false,
  };
}
