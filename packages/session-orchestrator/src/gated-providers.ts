import { messageOf } from "@dispatch/kernel";
import type {
  CallContext,
  ModelRequest,
  ProviderErrorInfo,
  ProvidersService,
  StreamPart,
} from "@dispatch/providers";
import type { CallUsage, ModelCallGate, ModelCallPass } from "./model-call-gate.ts";

const answerTypes = new Set<StreamPart["type"]>(["text-delta", "tool-call", "tool-call-error"]);

/**
 * The providers service as a turn sees it: every call passes the gates first, and each gate that
 * let it through is told how it ended. With no gates, calls go straight through.
 */
export function gatedProviders(
  providers: Pick<ProvidersService, "stream">,
  gates: () => readonly ModelCallGate[],
  onFault: (kind: string, error: unknown) => void,
): Pick<ProvidersService, "stream"> {
  return {
    stream(providerId, request, context) {
      const list = gates();
      if (list.length === 0) return providers.stream(providerId, request, context);
      return gatedStream(providers, list, onFault, providerId, request, context);
    },
  };
}

async function* gatedStream(
  providers: Pick<ProvidersService, "stream">,
  gates: readonly ModelCallGate[],
  onFault: (kind: string, error: unknown) => void,
  providerId: string,
  request: ModelRequest,
  context: CallContext,
): AsyncGenerator<StreamPart> {
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
        yield { type: "error", error: gateFailure(gate.id, error) };
        return;
      }
      if ("refused" in answer) {
        yield { type: "error", error: { ...answer.refused, retryable: false } };
        return;
      }
      passes.push(answer);
    }
    for await (const part of providers.stream(providerId, request, context)) {
      if (part.type === "usage") {
        usage ??= { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 };
        usage.inputTokens += part.inputTokens;
        usage.outputTokens += part.outputTokens;
        usage.cachedInputTokens += part.cachedInputTokens ?? 0;
      } else if (answerTypes.has(part.type)) answered = true;
      yield part;
    }
  } finally {
    const outcome = { usage: usage as CallUsage | undefined, answered };
    for (const pass of passes) {
      await pass.settle(outcome).catch((error: unknown) => onFault("model call settle", error));
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
