import { messageOf } from "@dispatch/kernel";

/** How a pending approval ended. */
export type ApprovalEnd =
  | { decision: "allow" | "deny"; by: "person" }
  | { decision: "deny"; by: "timeout" }
  | { decision: "deny"; by: "turn-ended"; reason: string };

/** One tool call waiting for a person. */
export interface PendingApproval {
  readonly conversationId: string;
  readonly toolCallId: string;
  readonly workspaceId: string;
  readonly toolName: string;
  readonly subject: string | undefined;
  readonly deadline: number;
}

interface Entry extends PendingApproval {
  settle(end: ApprovalEnd): void;
}

const keyOf = (conversationId: string, toolCallId: string) => `${conversationId}\u0000${toolCallId}`;

/**
 * Tool calls waiting for an answer, by conversation and call id. One timer serves every deadline
 * (armed for the earliest; a scan of the pending set when it fires, which stays small: at most one
 * call waits per running turn). Every wait ends exactly once: answered, past its deadline, or when
 * its turn's signal aborts (cancel, deadline, shutdown); nothing waits forever.
 */
export class PendingApprovals {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedFor = Number.POSITIVE_INFINITY;
  #closed = false;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Calls waiting now. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Waits for the call's answer until `timeoutMs` passes or `signal` aborts. A second wait for the
   * same call while one is pending, or any wait after `close`, ends at once as a deny.
   */
  wait(
    call: Omit<PendingApproval, "deadline">,
    timeoutMs: number,
    signal: AbortSignal,
  ): { pending: PendingApproval; ended: Promise<ApprovalEnd> } {
    const deadline = this.#now() + timeoutMs;
    const key = keyOf(call.conversationId, call.toolCallId);
    let settle!: (end: ApprovalEnd) => void;
    const ended = new Promise<ApprovalEnd>((resolve) => {
      settle = resolve;
    });
    const pending: PendingApproval = { ...call, deadline };
    if (this.#closed || this.#entries.has(key) || signal.aborted) {
      const reason = this.#closed
        ? "the host is shutting down"
        : signal.aborted
          ? messageOf(signal.reason)
          : "the same call is already waiting";
      settle({ decision: "deny", by: "turn-ended", reason });
      return { pending, ended };
    }
    const onAbort = () => finish({ decision: "deny", by: "turn-ended", reason: messageOf(signal.reason) });
    const finish = (end: ApprovalEnd) => {
      if (this.#entries.get(key) !== entry) return;
      this.#entries.delete(key);
      signal.removeEventListener("abort", onAbort);
      settle(end);
      this.#arm();
    };
    const entry: Entry = { ...pending, settle: finish };
    this.#entries.set(key, entry);
    signal.addEventListener("abort", onAbort, { once: true });
    this.#arm();
    return { pending, ended };
  }

  /** The pending call, if any (without answering it). */
  get(conversationId: string, toolCallId: string): PendingApproval | undefined {
    return this.#entries.get(keyOf(conversationId, toolCallId));
  }

  /** Answers a pending call; false when none is pending (answered, timed out, its turn ended). */
  answer(conversationId: string, toolCallId: string, decision: "allow" | "deny"): boolean {
    const entry = this.#entries.get(keyOf(conversationId, toolCallId));
    if (entry === undefined) return false;
    entry.settle({ decision, by: "person" });
    return true;
  }

  /**
   * Stops the timer and refuses new waits. Calls still waiting end when their turn's signal aborts,
   * which the orchestrator does to every turn at shutdown.
   */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
  }

  /** Re-arms the one timer for the earliest deadline, if that changed. */
  #arm(): void {
    if (this.#closed) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const entry of this.#entries.values()) earliest = Math.min(earliest, entry.deadline);
    if (earliest === this.#armedFor) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = earliest;
    if (earliest === Number.POSITIVE_INFINITY) return;
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, earliest - this.#now()));
  }

  #expire(): void {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = this.#now();
    for (const entry of [...this.#entries.values()]) {
      if (entry.deadline <= now) entry.settle({ decision: "deny", by: "timeout" });
    }
    this.#arm();
  }
}
