import { AbortRace } from "./abort-race.ts";
import type { ConcurrencyManager } from "./types.ts";

/** What one wrapped call needs besides the request. Callbacks must not throw. */
export interface WrapContext {
  /** The caller's signal (turn cancel, shutdown). */
  signal: AbortSignal;
  workspaceId: string;
  /** When the user's prompt arrived (epoch ms); keep it across retries to keep the call's place. */
  promptStartedAt: number;
  turnId?: string | null;
  conversationId?: string | null;
  /** Per call; undefined = no stall check. */
  stallTimeoutMs?: number;
  /** Called once if no slot was free at once (the call is queued). */
  onWaiting?: () => void;
  /** Called when the lease is granted, just before the provider is called. */
  onGranted?: () => void;
}

/** A provider as the wrapper sees it: one model call is one stream. */
export interface StreamingProvider<Req, Part> {
  stream(request: Req, signal: AbortSignal): AsyncIterable<Part>;
}

/** A provider whose calls each hold a concurrency slot for exactly as long as their stream. */
export interface ConcurrencyWrappedProvider<Req, Part> {
  stream(request: Req, context: WrapContext): AsyncIterable<Part>;
}

/**
 * Wraps a provider so each call waits for a slot of `options.providerId`, streams with a signal that
 * also fires when the lease is stalled or reclaimed, touches the lease on every part, and releases it
 * on every exit: end, throw, abort, early `break`, and an abort before the first part.
 */
export function wrapProviderWithConcurrency<Req, Part>(
  provider: StreamingProvider<Req, Part>,
  manager: ConcurrencyManager,
  options: { providerId: string },
): ConcurrencyWrappedProvider<Req, Part> {
  const { providerId } = options;
  return {
    stream: (request, context) => streamWithLease(provider, manager, providerId, request, context),
  };
}

async function* streamWithLease<Req, Part>(
  provider: StreamingProvider<Req, Part>,
  manager: ConcurrencyManager,
  providerId: string,
  request: Req,
  context: WrapContext,
): AsyncGenerator<Part, void, undefined> {
  const lease = await manager.acquire({
    providerId,
    workspaceId: context.workspaceId,
    promptStartedAt: context.promptStartedAt,
    signal: context.signal,
    turnId: context.turnId ?? null,
    conversationId: context.conversationId ?? null,
    stallTimeoutMs: context.stallTimeoutMs,
    onQueued: context.onWaiting,
  });
  // Whichever fired first wins: the caller's abort, or the watchdog's `stalled` / `lease_reclaimed`.
  const signal = AbortSignal.any([context.signal, lease.signal]);
  const race = new AbortRace(signal);
  let iterator: AsyncIterator<Part> | undefined;
  let finished = false;
  try {
    // A grant and an abort can land in the same tick; the caller has gone, so give the slot back.
    if (signal.aborted) throw signal.reason;
    context.onGranted?.();
    iterator = provider.stream(request, signal)[Symbol.asyncIterator]();
    for (;;) {
      const result = await race.next(iterator);
      if (result.done) {
        finished = true;
        return;
      }
      lease.touch();
      yield result.value;
    }
  } catch (error) {
    finished = true;
    throw signal.aborted ? signal.reason : error;
  } finally {
    race.dispose();
    lease.release();
    if (iterator !== undefined) await closeIterator(iterator, race.pending, finished);
  }
}

/**
 * Lets the provider clean up after an early exit. When a `next()` is still pending (it ignored the
 * abort) its `return()` is not awaited: a provider that never settles must not hold the caller.
 * Errors from `return()` are dropped: the caller already has its outcome, and the slot is free.
 */
async function closeIterator<Part>(
  iterator: AsyncIterator<Part>,
  nextPending: boolean,
  finished: boolean,
): Promise<void> {
  if (iterator.return === undefined || (finished && !nextPending)) return;
  const closing = Promise.resolve()
    .then(() => iterator.return?.())
    .catch(() => undefined);
  if (!nextPending) await closing;
}
