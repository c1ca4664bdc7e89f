import { mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMemoryLogger } from "@dispatch/kernel";
import type { ToolContext } from "@dispatch/session-orchestrator";
import { type ToolsConfig, toolsConfigSchema } from "../src/config.ts";
import { createExecutionBackends } from "../src/execution-backends.ts";
import { createLocalBackend } from "../src/local-backend.ts";
import { RootPins } from "../src/root-pins.ts";
import { unconfinedSandbox } from "../src/sandbox/sandboxes.ts";
import type { ToolDeps } from "../src/tool-kit.ts";
import { TurnFiles } from "../src/turn-files.ts";
import { createWorkspaceTools, type WorkspaceTools } from "../src/workspace-tools.ts";
import { MemoryLocks } from "./memory-locks.ts";

/** A temp directory holding a workspace root (`root`) and a sibling `outside` dir; `cleanup` removes both. */
export interface Sandbox {
  dir: string;
  root: string;
  outside: string;
  cleanup(): void;
}

/** Makes a fresh sandbox under the OS temp dir (real paths, so symlinked /tmp does not confuse checks). */
export function makeSandbox(): Sandbox {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "wt-test-")));
  const root = join(dir, "root");
  const outside = join(dir, "outside");
  Bun.spawnSync(["mkdir", "-p", root, outside]);
  return { dir, root, outside, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A ToolContext for `conversationId`/`turnId` in workspace `ws` rooted at `root`. */
export function toolContext(
  root: string,
  options: {
    conversationId?: string;
    turnId?: string;
    workspaceId?: string;
    hostId?: string | null;
    signal?: AbortSignal;
  } = {},
): ToolContext {
  const now = new Date().toISOString();
  return {
    workspace: {
      id: options.workspaceId ?? "ws",
      name: "ws",
      root,
      hostId: options.hostId ?? null,
      starred: false,
      network: null,
      permissions: {},
      createdAt: now,
      updatedAt: now,
    },
    conversationId: options.conversationId ?? "conv-a",
    turnId: options.turnId ?? "turn-a",
    signal: options.signal ?? new AbortController().signal,
    logger: createMemoryLogger().logger,
  };
}

/** Tools over the local backend and an in-memory lock table. */
export function makeTools(config: Partial<ToolsConfig> = {}): {
  tools: WorkspaceTools;
  locks: MemoryLocks;
  deps: ToolDeps;
} {
  const locks = new MemoryLocks();
  const parsed = toolsConfigSchema.parse(config);
  const local = createLocalBackend(
    { killGraceMs: 500, drainMs: 200 },
    { secretEnvNames: parsed.secretEnvNames },
  );
  const deps: ToolDeps = {
    backends: createExecutionBackends(local),
    locks,
    config: parsed,
    pins: new RootPins(),
    turnFiles: new TurnFiles(),
    sandbox: unconfinedSandbox,
  };
  return { tools: createWorkspaceTools(deps), locks, deps };
}

/** True while `pid` exists and is not a zombie (an unreaped zombie runs nothing). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}
