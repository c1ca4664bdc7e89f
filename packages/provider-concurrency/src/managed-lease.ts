import type { Lease } from "./types.ts";

/**
 * A granted slot as the manager tracks it. The abort controller is created on first use of `signal`,
 * so callers that never look at it do not pay for one.
 */
export class ManagedLease implements Lease {
  readonly providerId: string;
  readonly workspaceId: string;
  readonly turnId: string | null;
  readonly grantedAt: number;
  /** Epoch ms of the last `touch()` (or of the grant). */
  lastTouch: number;
  readonly stallTimeoutMs: number | undefined;
  #released = false;
  #controller: AbortController | undefined;
  #abortReason: unknown;
  #aborted = false;
  readonly #now: () => number;
  readonly #onRelease: (lease: ManagedLease) => void;

  constructor(init: {
    providerId: string;
    workspaceId: string;
    turnId: string | null;
    grantedAt: number;
    stallTimeoutMs: number | undefined;
    now: () => number;
    onRelease: (lease: ManagedLease) => void;
  }) {
    this.providerId = init.providerId;
    this.workspaceId = init.workspaceId;
    this.turnId = init.turnId;
    this.grantedAt = init.grantedAt;
    this.lastTouch = init.grantedAt;
    this.stallTimeoutMs = init.stallTimeoutMs;
    this.#now = init.now;
    this.#onRelease = init.onRelease;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /** Whether `release()` ran (by the holder or the watchdog). */
  get released(): boolean {
    return this.#released;
  }

  touch(): void {
    this.lastTouch = this.#now();
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#onRelease(this);
  }

  /** Aborts the lease's signal with `reason` (the watchdog's verdict); idempotent. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }
}
