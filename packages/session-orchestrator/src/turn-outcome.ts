import { DispatchError } from "@dispatch/kernel";
import type { TurnStatus } from "@dispatch/wire";

/** Why a turn was stopped from outside its loop. */
export type StopKind = "cancel" | "deadline" | "shutdown";

/** A final status of a turn. */
export type FinalStatus = Extract<TurnStatus, "completed" | "failed" | "cancelled" | "interrupted">;

/** How a turn ended: its final status, an error message for `failed`, and data for the final event. */
export interface TurnOutcome {
  status: FinalStatus;
  error?: string;
  data: Record<string, unknown>;
}

/** The final event type of each final status. */
export const finalEventTypes: Record<FinalStatus, string> = {
  completed: "turn.completed",
  failed: "turn.failed",
  cancelled: "turn.cancelled",
  interrupted: "turn.interrupted",
};

/** The final status a final event type records, or undefined for other events. */
export function statusOfFinalEvent(type: string): FinalStatus | undefined {
  for (const [status, eventType] of Object.entries(finalEventTypes)) {
    if (eventType === type) return status as FinalStatus;
  }
  return undefined;
}

/** The abort reason a turn's signal carries, so tools can tell a cancel from a shutdown. */
export function stopReason(kind: StopKind, turnTimeoutMs: number): DispatchError {
  switch (kind) {
    case "cancel":
      return new DispatchError("cancelled", "the turn was cancelled");
    case "deadline":
      return new DispatchError("turn_timeout", `the turn exceeded its deadline of ${turnTimeoutMs} ms`);
    case "shutdown":
      return new DispatchError("shutdown", "the host is shutting down");
  }
}

/** The outcome of a turn stopped from outside. */
export function stoppedOutcome(kind: StopKind, turnTimeoutMs: number): TurnOutcome {
  switch (kind) {
    case "cancel":
      return { status: "cancelled", data: { reason: "cancelled by the user" } };
    case "deadline": {
      const error = `the turn exceeded its deadline of ${turnTimeoutMs} ms`;
      return { status: "failed", error, data: { code: "turn_timeout" } };
    }
    case "shutdown":
      return { status: "interrupted", data: { reason: "host shutting down" } };
  }
}

/** A `failed` outcome. */
export function failedOutcome(error: string, data: Record<string, unknown> = {}): TurnOutcome {
  return { status: "failed", error, data };
}
