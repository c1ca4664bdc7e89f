import {
  type ConversationStore,
  conversationStoreExtension,
  conversationStoreRef,
  storeSchemasPoint,
} from "@dispatch/conversation-store";
import { defineExtension } from "@dispatch/kernel";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { WorktreeStore } from "../src/worktree-store.ts";

/** The git-workflows tables alone, contributed the way the extension does (both dialects). */
export const gitTablesOnly = defineExtension({
  manifest: { id: "git-workflows", version: "0.1.0", extends: ["conversation-store"] },
  register(reg) {
    reg.contribute(storeSchemasPoint, {
      migrations: {
        sqlite: new URL("../drizzle", import.meta.url),
        postgres: new URL("../drizzle-postgres", import.meta.url),
      },
    });
  },
  activate() {},
});

/** A clock the test moves by hand. */
export interface ManualClock {
  now: number;
  (): number;
}

export function manualClock(start: number): ManualClock {
  const clock = (() => clock.now) as ManualClock;
  clock.now = start;
  return clock;
}

/** One host's view: its store (and instance) and a WorktreeStore over it. */
export interface WorktreeHost {
  test: TestHost;
  conversations: ConversationStore;
  store: WorktreeStore;
}

/** A real store with the git-workflows tables, in a temp data dir or on `storeUrl`. */
export async function worktreeHost(
  clock: () => number,
  options: { storeUrl?: string } = {},
): Promise<WorktreeHost> {
  const test = await createTestHost({
    extensions: [conversationStoreExtension, gitTablesOnly],
    ...(options.storeUrl ? { config: { store: { url: options.storeUrl } } } : {}),
  });
  const conversations = test.get(conversationStoreRef);
  return { test, conversations, store: new WorktreeStore(conversations, clock) };
}
