import type { ConversationStore, Turn } from "@dispatch/conversation-store";
import type { EventWriter } from "./event-writer.ts";
import { statusOfFinalEvent } from "./turn-outcome.ts";

/**
 * Closes a turn no host runs any more (after a restart, or adopted from a dead host): it becomes
 * `interrupted` with a `turn.interrupted` event, unless its final event was stored without its status
 * (a crash between the two writes), which then takes the status that event records.
 */
export async function closeUnfinishedTurn(
  store: ConversationStore,
  writer: EventWriter,
  turn: Turn,
  reason = "host restarted",
): Promise<void> {
  const lastSeq = await store.events.lastSeq(turn.conversationId);
  const [last] = lastSeq > 0 ? await store.events.listAfter(turn.conversationId, lastSeq - 1, 1) : [];
  const recorded = last?.turnId === turn.id ? statusOfFinalEvent(last.type) : undefined;
  if (recorded !== undefined) await store.turns.setStatus(turn.id, recorded);
  else {
    await writer.write(
      turn.conversationId,
      [{ type: "turn.interrupted", turnId: turn.id, data: { reason } }],
      {
        afterPersist: () => store.turns.setStatus(turn.id, "interrupted", reason),
      },
    );
  }
  // A dead turn holds no file locks; the lock TTL would free them too, only later.
  await store.locks.releaseTurn(turn.id);
}
