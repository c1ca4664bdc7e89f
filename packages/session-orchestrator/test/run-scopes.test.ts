import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AnyExtension, DispatchError, defineExtension } from "@dispatch/kernel";
import { z } from "zod";
import type { RunScope, ScopeTurnEnd } from "../src/run-scope.ts";
import { runScopesPoint } from "../src/run-scope.ts";
import { toolsPoint } from "../src/turn-runner.ts";
import type { ToolContext } from "../src/types.ts";
import {
  type OrchestratorHost,
  startOrchestratorHost,
  testScript,
  waitFor,
} from "./fixtures/orchestrator-host.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** What the fake scope saw and how it behaves; one per test. */
interface ScopeLog {
  scoped: Set<string>;
  accepted: string[];
  finished: ScopeTurnEnd[];
  abandoned: number;
  refuseAccept: boolean;
  refuseCreated: boolean;
  refuseEnter: boolean;
  root: string;
}

/** A scope that puts conversations created with `worktree` into `log.root`, under key `wt-<id>`. */
function fakeScope(log: ScopeLog): RunScope {
  return {
    id: "fake-worktrees",
    handles: ["worktree", "baseRef"],
    async accept(workspace) {
      if (log.refuseAccept) throw new DispatchError("invalid_request", "not a repository");
      log.accepted.push(workspace.id);
    },
    async created(conversation) {
      if (log.refuseCreated) throw new DispatchError("internal", "could not record it");
      log.scoped.add(conversation.id);
    },
    async enter({ conversation }) {
      if (!log.scoped.has(conversation.id)) return undefined;
      if (log.refuseEnter) throw new DispatchError("conflict", "held by task tk_1 attempt 2");
      return {
        key: `wt-${conversation.id}`,
        root: log.root,
        abandon: async () => {
          log.abandoned += 1;
        },
        finish: async (end) => {
          log.finished.push(end);
          return { git: { commit: "abc123" } };
        },
      };
    },
  };
}

/** The tool context each `where` call saw. */
const seen: ToolContext[] = [];
const whereTool = {
  name: "where",
  description: "Reports where the tools run.",
  input: z.object({}).strict(),
  run: async (_input: unknown, context: ToolContext) => {
    seen.push(context);
    return { output: context.workspace.root };
  },
};

async function host(log?: ScopeLog): Promise<OrchestratorHost> {
  const extensions: AnyExtension[] = [
    defineExtension({
      manifest: { id: "scope-test", version: "1.0.0", extends: ["session-orchestrator"] },
      register(reg) {
        if (log !== undefined) reg.contribute(runScopesPoint, fakeScope(log));
        reg.contribute(toolsPoint, whereTool);
      },
      activate() {},
    }),
  ];
  const script = {
    ...testScript,
    replies: [
      { when: "^where", steps: [{ tool: "where", input: {} }, { text: "here" }] },
      ...testScript.replies,
    ],
  };
  const h = await startOrchestratorHost({ extensions, script });
  cleanups.push(() => h.stop());
  return h;
}

function newLog(): ScopeLog {
  const root = mkdtempSync(join(tmpdir(), "dispatch-scope-"));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  return {
    scoped: new Set(),
    accepted: [],
    finished: [],
    abandoned: 0,
    refuseAccept: false,
    refuseCreated: false,
    refuseEnter: false,
    root,
  };
}

describe("run scopes", () => {
  test("worktree without a scope that implements it is refused, naming the field", async () => {
    const h = await host();
    const attempt = h.orchestrator.createConversation({ workspaceId: "default", worktree: true });
    await expect(attempt).rejects.toMatchObject({ code: "invalid_request", details: { field: "worktree" } });
    expect(await h.store.conversations.listByWorkspace("default")).toHaveLength(0);
  });

  test("a scope that refuses in accept or created leaves no conversation behind", async () => {
    const log = newLog();
    const h = await host(log);
    log.refuseAccept = true;
    await expect(
      h.orchestrator.createConversation({ workspaceId: "default", worktree: true }),
    ).rejects.toMatchObject({ code: "invalid_request" });
    log.refuseAccept = false;
    log.refuseCreated = true;
    await expect(
      h.orchestrator.createConversation({ workspaceId: "default", worktree: true }),
    ).rejects.toMatchObject({ code: "internal" });
    expect(await h.store.conversations.listByWorkspace("default")).toHaveLength(0);
    expect(log.scoped.size).toBe(0);
  });

  test("a scoped turn's tools see the scope's root and key, and its finish data lands in the final event", async () => {
    const log = newLog();
    const h = await host(log);
    const conversation = await h.orchestrator.createConversation({ workspaceId: "default", worktree: true });
    expect(log.accepted).toEqual(["default"]);
    seen.length = 0;
    const { turnId } = await h.orchestrator.startTurn({
      conversationId: conversation.id,
      text: "where am I",
    });
    const events = await h.untilFinal(conversation.id, turnId);
    const final = events.at(-1);
    expect(final?.type).toBe("turn.completed");
    expect(final?.data).toMatchObject({ git: { commit: "abc123" } });
    expect(log.finished).toEqual([{ turnId, status: "completed" }]);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.workspace.root).toBe(log.root);
    expect(seen[0]?.workspace.id).toBe("default");
    expect(seen[0]?.scope).toEqual({ key: `wt-${conversation.id}` });

    // a conversation created without the option runs at the workspace's own root, with no scope
    const plain = await h.orchestrator.createConversation({ workspaceId: "default" });
    const second = await h.orchestrator.startTurn({ conversationId: plain.id, text: "where now" });
    await h.untilFinal(plain.id, second.turnId);
    const workspace = await h.store.workspaces.get("default");
    expect(seen[1]?.workspace.root).toBe(workspace?.root as string);
    expect(seen[1]?.scope).toBeUndefined();
  });

  test("a scope refusing the turn refuses startTurn before any turn is claimed", async () => {
    const log = newLog();
    const h = await host(log);
    const conversation = await h.orchestrator.createConversation({ workspaceId: "default", worktree: true });
    log.refuseEnter = true;
    await expect(
      h.orchestrator.startTurn({ conversationId: conversation.id, text: "where" }),
    ).rejects.toMatchObject({ code: "conflict", message: "held by task tk_1 attempt 2" });
    expect((await h.store.conversations.get(conversation.id))?.status).toBe("idle");
    expect(log.finished).toHaveLength(0);
  });

  test("a busy conversation's second start abandons what the scope took, and the first turn finishes", async () => {
    const log = newLog();
    const h = await host(log);
    const conversation = await h.orchestrator.createConversation({ workspaceId: "default", worktree: true });
    const first = await h.orchestrator.startTurn({ conversationId: conversation.id, text: "slow please" });
    await expect(
      h.orchestrator.startTurn({ conversationId: conversation.id, text: "again" }),
    ).rejects.toMatchObject({ code: "conversation_busy" });
    expect(log.abandoned).toBe(1);
    await h.untilFinal(conversation.id, first.turnId);
    await waitFor(() => log.finished.length === 1);
    expect(log.finished[0]).toEqual({ turnId: first.turnId, status: "completed" });
  });

  test("a cancelled scoped turn still finishes its scope, with status cancelled", async () => {
    const log = newLog();
    const h = await host(log);
    const conversation = await h.orchestrator.createConversation({ workspaceId: "default", worktree: true });
    const { turnId } = await h.orchestrator.startTurn({ conversationId: conversation.id, text: "slow one" });
    const cancelled = await h.orchestrator.cancelTurn(conversation.id);
    expect(cancelled.status).toBe("cancelled");
    expect(log.finished).toEqual([{ turnId, status: "cancelled" }]);
  });
});
