import { DispatchError, messageOf } from "@dispatch/kernel";
import type { ConcurrencyWrappedProvider } from "@dispatch/provider-concurrency";
import { abortedError } from "./classify-error.ts";
import type { CallContext, ModelRequest, ProviderErrorInfo, StreamPart } from "./types.ts";

/** How one attempt ended. */
export type AttemptOutcome =
  /** The call is over (finished, or failed for good); everything was yielded. */
  | { kind: "done" }
  /** A retryable error before any content; nothing of it was yielded, the slot is already released. */
  | { kind: "retry"; error: ProviderErrorInfo };

const contentTypes = new Set<StreamPart["type"]>(["text-delta", "tool-call", "tool-call-error"]);

/** Turns what the wrapper throws (abort reason, `stalled`, `provider_queue_full`, …) into an error part. */
export function errorFromThrow(
  providerId: string,
  error: unknown,
  callerSignal: AbortSignal,
): ProviderErrorInfo {
  if (callerSignal.aborted) return abortedError(providerId);
  if (DispatchError.isInstance(error)) {
    if (error.code === "stalled" || error.code === "lease_reclaimed") return abortedError(providerId, error);
    if (error.code === "provider_queue_full" || error.code === "unknown_provider") {
      return { code: error.code, message: error.message, retryable: false };
    }
  }
  return {
    code: "stream_error",
    message: `the call to provider "${providerId}" failed: ${messageOf(error)}`,
    retryable: false,
  };
}

/**
 * One attempt through the concurrency wrapper. Yields `waiting` (queue) and `slot-granted` as the
 * wrapper reports them, then the provider's parts. A retryable error before the first content part
 * is not yielded: the attempt stops consuming (which releases the slot) and returns it for the
 * caller to decide. An error after content is yielded as final. Never throws.
 */
export async function* runAttempt(
  wrapped: ConcurrencyWrappedProvider<ModelRequest, StreamPart>,
  providerId: string,
  request: ModelRequest,
  context: CallContext,
  attempt: number,
  stallTimeoutMs: number,
): AsyncGenerator<StreamPart, AttemptOutcome> {
  const events: StreamPart[] = [];
  // After the grant no callback fires any more, so parts need no race against `wake`.
  let granted = false;
  let wake: (() => void) | undefined;
  const push = (part: StreamPart) => {
    events.push(part);
    wake?.();
  };
  // Lets us end a pending acquire or stream when our consumer leaves early.
  const local = new AbortController();
  const iterator = wrapped
    .stream(request, {
      signal: AbortSignal.any([context.signal, local.signal]),
      workspaceId: context.workspaceId,
      promptStartedAt: context.promptStartedAt,
      turnId: context.turnId,
      conversationId: context.conversationId,
      stallTimeoutMs,
      onWaiting: () => push({ type: "waiting", reason: "queue", attempt }),
      onGranted: () => {
        granted = true;
        push({ type: "slot-granted", attempt });
      },
    })
    [Symbol.asyncIterator]();

  let result: IteratorResult<StreamPart> | undefined;
  let failure: { error: unknown } | undefined;
  let done = false;
  let nextPending = false;
  const pull = () => {
    nextPending = true;
    return iterator.next().then(
      (r) => {
        nextPending = false;
        result = r;
      },
      (error: unknown) => {
        nextPending = false;
        failure = { error };
      },
    );
  };
  let pending = pull();
  let sawContent = false;
  try {
    for (;;) {
      // Callbacks can fire inside `next()` itself, before `wake` exists: check the queue first.
      if (result === undefined && failure === undefined && events.length === 0) {
        if (granted) await pending;
        else await Promise.race([pending, new Promise<void>((resolve) => (wake = resolve))]);
        wake = undefined;
      }
      while (events.length > 0) yield events.shift() as StreamPart;
      if (failure !== undefined) {
        done = true;
        yield { type: "error", error: errorFromThrow(providerId, failure.error, context.signal) };
        return { kind: "done" };
      }
      if (result === undefined) continue;
      if (result.done) {
        done = true;
        return { kind: "done" };
      }
      const part = result.value;
      result = undefined;
      if (part.type === "error") {
        if (!sawContent && part.error.retryable) return { kind: "retry", error: part.error };
        yield { type: "error", error: { ...part.error, retryable: false } };
        return { kind: "done" };
      }
      if (contentTypes.has(part.type)) sawContent = true;
      yield part;
      pending = pull();
    }
  } finally {
    if (!done) {
      // A pending acquire or read would hold `return()` back; the abort settles it first.
      if (nextPending) local.abort();
      await iterator.return?.();
    }
  }
}
