import { finalTurnStatuses, type TurnStatus } from "@dispatch/wire";

/** Statuses a turn can still leave; at most one turn per conversation is in one of them. */
export const unfinishedStatuses: readonly TurnStatus[] = ["queued", "waiting", "running"];

/** True for `completed`, `failed`, `cancelled` and `interrupted`. */
export function isFinal(status: TurnStatus): boolean {
  return finalTurnStatuses.includes(status);
}
