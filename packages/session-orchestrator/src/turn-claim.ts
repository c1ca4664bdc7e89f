import type { ConversationStore } from "@dispatch/conversation-store";

type Claim = ConversationStore["turns"]["claim"];

/** What a claim returns: the new turn and its user message. */
export type Claimed = Awaited<ReturnType<Claim>>;

/**
 * Claims a conversation for a new turn. On SQLite the claim joins the group commit of its loop turn,
 * so claims that arrive together share one commit (SQLite has one write lock, so a group cannot
 * deadlock). On Postgres it stays a transaction of its own: a claim locks its conversation's row,
 * which another host's group may hold while this host's group holds one that host wants.
 */
export function claimTurn(
  store: Pick<ConversationStore, "dialect" | "turns" | "grouped">,
  input: Parameters<Claim>[0],
): Promise<Claimed> {
  if (store.dialect !== "sqlite") return store.turns.claim(input);
  return store.grouped(() => store.turns.claim(input), { atomic: true });
}
