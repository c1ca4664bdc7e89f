import { clusterExtension } from "@dispatch/cluster";
import { conversationStoreExtension } from "@dispatch/conversation-store";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { providerConcurrencyExtension } from "@dispatch/provider-concurrency";
import { providersExtension } from "@dispatch/providers";
import { sessionOrchestratorExtension } from "@dispatch/session-orchestrator";
import { tasksExtension } from "@dispatch/tasks";
import { httpServerRef, transportHttpExtension } from "@dispatch/transport-http";
import type { Worktree } from "@dispatch/wire";
import { workspaceToolsExtension } from "@dispatch/workspace-tools";
import { gitWorkflowsExtension } from "../src/extension.ts";

/** A host with the real extensions git-workflows sits on, on a loopback port. */
export interface GitHost {
  test: TestHost;
  url: string;
  post(path: string, body: unknown): Promise<Response>;
  worktree(id: string): Promise<Worktree | undefined>;
  /** Polls until `done` holds for the worktree (bounded). */
  waitForWorktree(id: string, done: (w: Worktree | undefined) => boolean): Promise<Worktree | undefined>;
  /** Polls a conversation until its latest turn ended; returns the status. */
  turnEnded(conversationId: string): Promise<string>;
}

/**
 * Starts the host with the scripted provider answering `script`, and `git` / `tasks` config; on
 * the Postgres database `storeUrl` when given (with the cluster extension, as `bin/dispatch` runs).
 */
export async function startGitHost(options: {
  script: unknown;
  git?: Record<string, unknown>;
  tasks?: Record<string, unknown>;
  storeUrl?: string;
}): Promise<GitHost> {
  const test = await createTestHost({
    extensions: [
      conversationStoreExtension,
      clusterExtension,
      providerConcurrencyExtension,
      providersExtension,
      sessionOrchestratorExtension,
      workspaceToolsExtension,
      transportHttpExtension,
      tasksExtension,
      gitWorkflowsExtension,
    ],
    config: {
      ...(options.storeUrl === undefined ? {} : { store: { url: options.storeUrl } }),
      server: { port: 0 },
      providers: [{ id: "scripted", kind: "scripted", maxConcurrent: 4, script: options.script }],
      tasks: { tickMs: 20, ...options.tasks },
      git: { tickMs: 20, ...options.git },
    },
  });
  const address = test.get(httpServerRef).address();
  if (address === undefined) throw new Error("the server is not listening");
  const url = `http://${address.host}:${address.port}`;
  const worktree = async (id: string) => {
    const res = await fetch(`${url}/worktrees/${id}`);
    return res.ok ? ((await res.json()) as Worktree) : undefined;
  };
  return {
    test,
    url,
    post: (path, body) =>
      fetch(`${url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }),
    worktree,
    async waitForWorktree(id, done) {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const found = await worktree(id);
        if (done(found)) return found;
        if (Date.now() > deadline) throw new Error(`worktree ${id}: ${JSON.stringify(found)}`);
        await Bun.sleep(20);
      }
    },
    async turnEnded(conversationId) {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const res = await fetch(`${url}/conversations/${conversationId}`);
        const { status } = (await res.json()) as { status: string };
        if (["completed", "failed", "cancelled", "interrupted"].includes(status)) return status;
        if (Date.now() > deadline) throw new Error(`conversation ${conversationId} still ${status}`);
        await Bun.sleep(20);
      }
    },
  };
}
