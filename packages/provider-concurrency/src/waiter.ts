import type { CancelTimer } from "@dispatch/kernel";
import type { ProviderQueue, QueuedWaiter } from "./provider-queue.ts";
import type { AcquireRequest, Lease } from "./types.ts";
import type { WorkspaceLinks } from "./workspace-index.ts";

/** A provider's slots, queue and pause, as the manager keeps them. */
export interface ProviderState {
  readonly id: string;
  limit: number;
  inFlight: number;
  readonly queue: ProviderQueue<Waiter>;
  /** Epoch ms until which no grants are made, or null. */
  coolingUntil: number | null;
  /** Cancels the one timer that ends the pause. */
  cancelCooling: CancelTimer | undefined;
}

/** A queued `acquire`: its place in the order and the promise its caller awaits. */
export class Waiter implements QueuedWaiter, WorkspaceLinks<Waiter> {
  heapIndex = -1;
  live = true;
  wsPrev: Waiter | undefined = undefined;
  wsNext: Waiter | undefined = undefined;
  wsLinked = false;
  starred: boolean;
  readonly seq: number;
  readonly promptStartedAt: number;
  readonly enqueuedAt: number;
  readonly request: AcquireRequest;
  readonly provider: ProviderState;
  readonly resolve: (lease: Lease) => void;
  readonly reject: (reason: unknown) => void;
  readonly promise: Promise<Lease>;
  /** The abort listener on `request.signal`, removed as soon as the waiter leaves the queue. */
  onAbort: (() => void) | undefined;

  constructor(seq: number, request: AcquireRequest, provider: ProviderState, starred: boolean, now: number) {
    this.seq = seq;
    this.request = request;
    this.promptStartedAt = request.promptStartedAt;
    this.provider = provider;
    this.starred = starred;
    this.enqueuedAt = now;
    const { promise, resolve, reject } = Promise.withResolvers<Lease>();
    this.promise = promise;
    this.resolve = resolve;
    this.reject = reject;
  }
}
