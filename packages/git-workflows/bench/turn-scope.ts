/**
 * What git workflows add to a turn: single-step turns of a plain conversation on a host without
 * git-workflows (the baseline) and with it (the run scope's lookup before every claim), and turns of
 * a worktree conversation that write one file (hold, worktree check, commit: several git processes).
 * The three alternate round by round in one run; medians of `rounds` rounds.
 *
 *   bun packages/git-workflows/bench/turn-scope.ts
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "@dispatch/bench-kit";
import { conversationStoreExtension, conversationStoreRef } from "@dispatch/conversation-store";
import type { AnyExtension } from "@dispatch/kernel";
import { createMemoryLogger } from "@dispatch/kernel";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { providerConcurrencyExtension } from "@dispatch/provider-concurrency";
import { providersExtension } from "@dispatch/providers";
import { orchestratorRef, sessionOrchestratorExtension } from "@dispatch/session-orchestrator";
import { tasksExtension } from "@dispatch/tasks";
import { transportHttpExtension } from "@dispatch/transport-http";
import { workspaceToolsExtension } from "@dispatch/workspace-tools";
import { gitWorkflowsExtension } from "../src/extension.ts";

const rounds = Number(process.argv[2] ?? 30);
const script = {
  replies: [
    {
      when: "^write",
      steps: [
        { tool: "write_file", input: { path: "n.txt", content: "x" } },
        { text: "ok", delayMs: 0 },
      ],
    },
  ],
  fallback: { steps: [{ text: "Done.", chunks: 1, delayMs: 0 }] },
};

async function host(withGit: boolean): Promise<TestHost> {
  const extensions: AnyExtension[] = [
    conversationStoreExtension,
    providerConcurrencyExtension,
    providersExtension,
    sessionOrchestratorExtension,
    workspaceToolsExtension,
    transportHttpExtension,
    tasksExtension,
    ...(withGit ? [gitWorkflowsExtension] : []),
  ];
  return createTestHost({
    extensions,
    logger: createMemoryLogger().logger,
    config: {
      server: { port: 0 },
      providers: [{ id: "scripted", kind: "scripted", maxConcurrent: 10, script }],
      defaults: { coalesceMs: 1 },
    },
  });
}

function repo(): string {
  const dir = mkdtempSync(join(tmpdir(), "dispatch-bench-git-"));
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: "b",
    GIT_AUTHOR_EMAIL: "b@b",
    GIT_COMMITTER_NAME: "b",
    GIT_COMMITTER_EMAIL: "b@b",
  };
  Bun.spawnSync(["git", "init", "-q", "-b", "main", dir], { env });
  writeFileSync(join(dir, "README.md"), "bench\n");
  Bun.spawnSync(["git", "add", "-A"], { cwd: dir, env });
  Bun.spawnSync(["git", "commit", "-q", "-m", "init"], { cwd: dir, env });
  return dir;
}

/** Wall time of one turn, start to `turn.finished`. */
async function timedTurn(h: TestHost, conversationId: string, text: string): Promise<number> {
  const orchestrator = h.get(orchestratorRef);
  const done = new Promise<void>((resolve) => {
    const off = h.host.bus.subscribe("bench", "turn.finished", ({ conversationId: id, status }) => {
      if (id !== conversationId) return;
      if (status !== "completed") throw new Error(`turn ended ${status}`);
      off();
      resolve();
    });
  });
  const t0 = performance.now();
  await orchestrator.startTurn({ conversationId, text });
  await done;
  return performance.now() - t0;
}

const root = repo();
const plainHost = await host(false);
const gitHost = await host(true);
const orchestratorOf = (h: TestHost) => h.get(orchestratorRef);
for (const h of [plainHost, gitHost])
  await h.get(conversationStoreRef).workspaces.create({ id: "bench", root });
const plainA = await orchestratorOf(plainHost).createConversation({ workspaceId: "bench" });
const plainB = await orchestratorOf(gitHost).createConversation({ workspaceId: "bench" });
const scoped = await orchestratorOf(gitHost).createConversation({ workspaceId: "bench", worktree: true });

const without: number[] = [];
const withGit: number[] = [];
const worktree: number[] = [];
for (let i = 0; i < rounds + 3; i++) {
  const a = await timedTurn(plainHost, plainA.id, "go");
  const b = await timedTurn(gitHost, plainB.id, "go");
  // a change in the worktree before each turn, so every turn commits
  if (i > 0) writeFileSync(join(gitHost.dataDir, "worktrees", "bench", scoped.id, "stamp.txt"), String(i));
  const c = await timedTurn(gitHost, scoped.id, `write ${i}`);
  if (i < 3) continue; // warm-up
  without.push(a);
  withGit.push(b);
  worktree.push(c);
}
const ms = (n: number) => `${n.toFixed(2)} ms`;
console.log(`plain turn, host without git-workflows: ${ms(median(without))}`);
console.log(
  `plain turn, host with git-workflows:    ${ms(median(withGit))} (×${(median(withGit) / median(without)).toFixed(2)})`,
);
console.log(`worktree turn writing a file + commit:  ${ms(median(worktree))}`);
await plainHost.stop();
await gitHost.stop();
rmSync(root, { recursive: true, force: true });
