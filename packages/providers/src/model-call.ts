import { DispatchError, messageOf } from "@dispatch/kernel";
import { AbortRace, type ConcurrencyManager, type Lease } from "@dispatch/provider-concurrency";
import { abortableSleep, type BackoffOptions, backoffDelay } from "./backoff.ts";
import { abortedError } from "./classify-error.ts";
import {
  answerPartTypes,
  type CallContext,
  type ModelProvider,
  type ModelRequest,
  type PartSink,
  type ProviderErrorInfo,
  type StreamPart,
} from "./types.ts";

/** The settings of a provider that one call reads. */
export interface CallSettings {
  maxAttempts: number;
  stallTimeoutMs: number;
  maxRetryAfterMs: number;
  backoff: BackoffOptions;
}

/** What a call reports as it goes (for logs and metrics). Callbacks must not throw. */
export interface CallObserver {
  /** A retryable answer before the first token; the call retries after `delayMs`. */
  retry?(event: {
    providerId: string;
    error: ProviderErrorInfo;
    attempt: number;
    delayMs: number;
    paused: boolean;
  }): void;
  /** A call ended with an error part. */
  failed?(event: { providerId: string; error: ProviderErrorInfo; attempts: number }): void;
}

/** Everything one call runs on. */
export interface ModelCallDeps {
  manager: ConcurrencyManager;
  observer: CallObserver;
  /** For backoff jitter. */
  random: () => number;
  /** Epoch ms. */
  now: () => number;
}

/** Turns what a wait throws (abort reason, `stalled`, `provider_queue_full`, …) into an error part's error. */
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

/** Adds the attempt count to the provider's last answer, for the final error of a call that gave up. */
function gaveUp(error: ProviderErrorInfo, attempts: number, why?: string): ProviderErrorInfo {
  const tried = `gave up after ${attempts} attempt${attempts === 1 ? "" : "s"}`;
  return {
    ...error,
    retryable: false,
    message: `${why ? `${why}; ` : ""}${tried}; last answer: ${error.message}`,
  };
}

/** A delay for a message, e.g. "3600 s". */
function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/**
 * One model call as one loop (DESIGN §4) that pushes its parts into `sink`. Each attempt waits for
 * a slot of `providerId` (pushing `waiting` when queued), pushes `slot-granted`, streams the
 * provider's parts while holding the slot (each part resets the stall clock), and releases it on
 * every exit. A retryable answer before the first content part releases the slot, pauses the
 * provider when the answer gave a delay (capped at `maxRetryAfterMs`), waits, and queues again with
 * the same `promptStartedAt`, so it keeps its place. The loop owns cancellation: one abort listener
 * for the whole call races every wait, so an abort ends the call at once even when the provider
 * ignores its signal. Every failure is an `error` part; the promise rejects only with what the sink
 * threw.
 */
export async function modelCall(
  providerId: string,
  provider: ModelProvider,
  settings: CallSettings,
  request: ModelRequest,
  context: CallContext,
  deps: ModelCallDeps,
  sink: PartSink,
): Promise<void> {
  const { manager, observer } = deps;
  const fail = (error: ProviderErrorInfo, attempts: number): void | Promise<void> => {
    observer.failed?.({ providerId, error, attempts });
    return sink({ type: "error", error });
  };
  // Fires on the caller's abort, on a lease the watchdog took back (stall, maxLeaseMs), and when the
  // sink throws, so that a queued wait or a stream of ours never outlives the call.
  const local = new AbortController();
  const signal = AbortSignal.any([context.signal, local.signal]);
  const race = new AbortRace(signal);
  /** A slot asked for and not yet taken: on an early exit it is given back when it comes. */
  let acquiring: Promise<Lease> | undefined;
  /** The slot held by the attempt in progress. */
  let lease: Lease | undefined;
  let onLeaseAbort: (() => void) | undefined;
  /** The provider's stream of the attempt in progress, until it ended or was closed. */
  let parts: AsyncIterator<StreamPart> | undefined;
  /** A `next()` of `parts` not awaited yet (started before the grant was pushed). */
  let next: Promise<IteratorResult<StreamPart>> | undefined;

  /** Gives the slot back and closes the provider's stream; safe to call twice. */
  const endAttempt = async (): Promise<void> => {
    if (lease !== undefined) {
      if (onLeaseAbort !== undefined) lease.signal.removeEventListener("abort", onLeaseAbort);
      lease.release();
      lease = undefined;
      onLeaseAbort = undefined;
    }
    const open = parts;
    parts = undefined;
    if (open?.return === undefined) return;
    // A provider stuck in a `next()` that ignored the abort may never settle: do not wait for it.
    const closing = Promise.resolve()
      .then(() => open.return?.())
      .catch(() => undefined);
    if (!race.pending) await closing;
  };

  try {
    for (let attempt = 1; ; attempt += 1) {
      let queued = false;
      let toldQueued: (() => void) | undefined;
      acquiring = manager.acquire({
        providerId,
        workspaceId: context.workspaceId,
        promptStartedAt: context.promptStartedAt,
        signal,
        turnId: context.turnId,
        conversationId: context.conversationId,
        stallTimeoutMs: settings.stallTimeoutMs,
        onQueued: () => {
          queued = true;
          toldQueued?.();
        },
      });
      let waitFailure: { error: unknown } | undefined;
      try {
        // The in-memory manager calls `onQueued` inside `acquire`, so it is known before the wait;
        // the cluster-backed one (Postgres) only after its enqueue's round trip: wait for whichever
        // comes first, the grant or the news that the call is queued.
        if (!queued) {
          const told = new Promise<undefined>((resolve) => {
            toldQueued = () => resolve(undefined);
          });
          lease = await Promise.race([acquiring, told]);
          toldQueued = undefined;
        }
      } catch (error) {
        waitFailure = { error };
      }
      if (waitFailure === undefined && lease === undefined) {
        // Outside the try: what the sink throws ends the call as it is (the grant, when it comes, is
        // given back by the `finally` below), it is not a failed wait.
        await sink({ type: "waiting", reason: "queue", attempt });
        try {
          lease = await acquiring;
        } catch (error) {
          waitFailure = { error };
        }
      }
      // Taken or failed: from here on `lease` is what an early exit gives back.
      acquiring = undefined;
      if (waitFailure !== undefined || lease === undefined) {
        await fail(errorFromThrow(providerId, waitFailure?.error, context.signal), attempt);
        return;
      }
      // A grant and an abort can land in the same tick; the caller has gone, so give the slot back.
      if (signal.aborted) {
        await fail(errorFromThrow(providerId, signal.reason, context.signal), attempt);
        return;
      }
      const held = lease;
      onLeaseAbort = () => local.abort(held.signal.reason);
      held.signal.addEventListener("abort", onLeaseAbort, { once: true });
      parts = provider.stream(request, signal)[Symbol.asyncIterator]();
      // Started before the grant is pushed, so the request goes out while the sink records it. An
      // abort while the sink is busy rejects it before anything awaits it: handled here, so that the
      // rejection is not reported as unhandled; the loop's await below still receives it.
      next = race.next(parts);
      next.catch(() => {});
      await sink({ type: "slot-granted", attempt });

      let sawContent = false;
      let retry: ProviderErrorInfo | undefined;
      for (;;) {
        let result: IteratorResult<StreamPart>;
        try {
          result = await (next ?? race.next(parts));
        } catch (error) {
          next = undefined;
          await fail(errorFromThrow(providerId, error, context.signal), attempt);
          return;
        }
        next = undefined;
        if (result.done === true) {
          parts = undefined;
          return;
        }
        held.touch();
        const part = result.value;
        if (part.type === "error") {
          if (!sawContent && part.error.retryable) {
            retry = part.error;
            break;
          }
          await fail({ ...part.error, retryable: false }, attempt);
          return;
        }
        if (answerPartTypes.has(part.type)) sawContent = true;
        // The hot path: most parts are text deltas that a sink takes synchronously.
        const taking = sink(part);
        if (taking !== undefined) await taking;
      }
      // Retryable before any content: the slot goes back before the wait.
      await endAttempt();
      if (retry === undefined) return;

      const providerDelay = retry.retryAfterMs;
      const paused =
        providerDelay !== undefined && (retry.code === "rate_limited" || retry.code === "overloaded");
      // The provider asked everyone to wait, not just this call (even if this call gives up now); a
      // pause past the cap would hold every queued turn silently, so it stops at the cap.
      if (paused) {
        manager.pauseUntil(providerId, deps.now() + Math.min(providerDelay, settings.maxRetryAfterMs));
      }
      if (providerDelay !== undefined && providerDelay > settings.maxRetryAfterMs) {
        // Hours of waiting (a spent daily quota) is better said now than spent holding the turn.
        const why = `the provider asked to wait ${seconds(providerDelay)}, more than maxRetryAfterMs (${seconds(settings.maxRetryAfterMs)})`;
        await fail(gaveUp(retry, attempt, why), attempt);
        return;
      }
      if (attempt >= settings.maxAttempts) {
        await fail(gaveUp(retry, attempt), attempt);
        return;
      }
      const delayMs = providerDelay ?? backoffDelay(attempt, settings.backoff, deps.random);
      observer.retry?.({ providerId, error: retry, attempt, delayMs, paused });
      await sink({
        type: "waiting",
        reason: "retry",
        attempt: attempt + 1,
        retryInMs: delayMs,
        message: retry.message,
      });
      if (!(await abortableSleep(delayMs, signal))) {
        await fail(abortedError(providerId), attempt);
        return;
      }
    }
  } finally {
    race.dispose();
    local.abort();
    await endAttempt();
    acquiring?.then(
      (late) => late.release(),
      () => {},
    );
  }
}
