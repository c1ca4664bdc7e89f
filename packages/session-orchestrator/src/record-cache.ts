import type { ConversationStore } from "@dispatch/conversation-store";
import { DispatchError } from "@dispatch/kernel";
import type { Workspace } from "@dispatch/wire";
import type { ConversationInfo } from "./turn-run.ts";

/** Conversations and workspaces kept in memory; the least recently used beyond this are dropped. */
const cacheLimit = 10_000;

/**
 * The conversations and workspaces the orchestrator reads at every turn, kept in memory: each saves a
 * store read per turn. A conversation's provider, model and workspace never change; a workspace can,
 * so `forgetWorkspace` (wired to the store's bus events) drops it on update or delete.
 */
export class RecordCache {
  readonly #store: Pick<ConversationStore, "conversations" | "workspaces">;
  readonly #conversations = new Map<string, ConversationInfo>();
  readonly #workspaces = new Map<string, Workspace>();
  #workspaceEpoch = 0;

  constructor(store: Pick<ConversationStore, "conversations" | "workspaces">) {
    this.#store = store;
  }

  /** The conversation's fixed fields; `not_found` when it does not exist. */
  async conversation(conversationId: string): Promise<ConversationInfo> {
    const cached = this.#conversations.get(conversationId);
    if (cached !== undefined) return remember(this.#conversations, conversationId, cached);
    const conversation = await this.#store.conversations.get(conversationId);
    if (conversation === undefined) {
      throw new DispatchError("not_found", `conversation "${conversationId}" does not exist`);
    }
    const { id, workspaceId, provider, model, runner } = conversation;
    return remember(this.#conversations, conversationId, { id, workspaceId, provider, model, runner });
  }

  /** The workspace, or undefined when it does not exist. */
  async workspace(id: string): Promise<Workspace | undefined> {
    const cached = this.#workspaces.get(id);
    if (cached !== undefined) return remember(this.#workspaces, id, cached);
    const epoch = this.#workspaceEpoch;
    const workspace = await this.#store.workspaces.get(id);
    // A workspace forgotten while we read may be newer than what we got: use it, but do not keep it.
    if (workspace === undefined || epoch !== this.#workspaceEpoch) return workspace;
    return remember(this.#workspaces, id, workspace);
  }

  /** Drops a cached conversation (it went with its workspace). */
  forgetConversation(id: string): void {
    this.#conversations.delete(id);
  }

  /** Drops a cached workspace; call when it is updated or deleted. */
  forgetWorkspace(id: string): void {
    this.#workspaceEpoch += 1;
    this.#workspaces.delete(id);
  }
}

/** Puts `value` last in the map's order (most recently used) and drops the oldest entry past the limit. */
function remember<V>(map: Map<string, V>, key: string, value: V): V {
  map.delete(key);
  map.set(key, value);
  if (map.size > cacheLimit) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
  return value;
}
