import { join } from "node:path";
import {
  type ConversationStore,
  conversationStoreExtension,
  conversationStoreRef,
} from "@dispatch/conversation-store";
import { type AnyExtension, createMemoryLogger } from "@dispatch/kernel";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import type { ToolContext } from "@dispatch/session-orchestrator";

/** A test host with the real conversation store, and a workspace rooted in its data dir. */
export interface StoreHost {
  host: TestHost;
  store: ConversationStore;
  workspace: ToolContext["workspace"];
  /** Creates a conversation in the workspace and claims a turn for it; returns a ToolContext for that turn. */
  startTurn(signal?: AbortSignal): Promise<ToolContext>;
  /** Marks the context's turn completed in the store. */
  finishTurn(context: ToolContext): Promise<void>;
}

/** Starts the given extensions (the real store first) and creates workspace `ws` under the data dir. */
export async function startStoreHost(
  extensions: readonly AnyExtension[] = [],
  config: Record<string, unknown> = {},
): Promise<StoreHost> {
  const host = await createTestHost({ extensions: [conversationStoreExtension, ...extensions], config });
  const store = host.get(conversationStoreRef);
  // The root is not created: the tools must make it on first write.
  const workspace = await store.workspaces.create({ id: "ws", root: join(host.dataDir, "workspaces", "ws") });
  return {
    host,
    store,
    workspace,
    async startTurn(signal) {
      const conversation = await store.conversations.create({
        workspaceId: "ws",
        provider: "scripted",
        model: "demo",
      });
      const { turn } = await store.turns.claim({
        conversationId: conversation.id,
        text: "go",
        promptStartedAt: Date.now(),
      });
      await store.turns.setStatus(turn.id, "running");
      return {
        workspace,
        conversationId: conversation.id,
        turnId: turn.id,
        signal: signal ?? new AbortController().signal,
        logger: createMemoryLogger().logger,
      };
    },
    async finishTurn(context) {
      await store.turns.setStatus(context.turnId, "completed");
    },
  };
}
