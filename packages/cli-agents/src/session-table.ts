import { type AgentSession, type SessionState, sessionStates } from "./agent-session.ts";

/**
 * The live sessions by conversation, with counts by state kept as states change (so metrics never
 * walk the list). A session is here from its first spawn (or re-attach) until the path that ends it.
 */
export class SessionTable {
  readonly #sessions = new Map<string, AgentSession>();
  readonly #counts = new Map<SessionState, number>(sessionStates.map((s) => [s, 0]));

  get(conversationId: string): AgentSession | undefined {
    return this.#sessions.get(conversationId);
  }

  add(session: AgentSession): void {
    if (this.#sessions.has(session.conversationId))
      throw new Error(`session ${session.name} is already in the table`);
    this.#sessions.set(session.conversationId, session);
    this.#bump(session.state, 1);
    session.observe((from, to) => {
      this.#bump(from, -1);
      this.#bump(to, 1);
    });
  }

  /** Removes the session (if it is the one in the table); returns whether it was there. */
  delete(session: AgentSession): boolean {
    if (this.#sessions.get(session.conversationId) !== session) return false;
    this.#sessions.delete(session.conversationId);
    session.observe(undefined);
    this.#bump(session.state, -1);
    return true;
  }

  clear(): void {
    for (const session of [...this.#sessions.values()]) this.delete(session);
  }

  values(): IterableIterator<AgentSession> {
    return this.#sessions.values();
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Sessions by state (a copy). */
  counts(): Record<SessionState, number> {
    return Object.fromEntries(this.#counts) as Record<SessionState, number>;
  }

  #bump(state: SessionState, by: number): void {
    this.#counts.set(state, (this.#counts.get(state) ?? 0) + by);
  }
}
