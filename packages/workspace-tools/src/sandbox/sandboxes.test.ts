import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createMemoryLogger, DispatchError } from "@dispatch/kernel";
import type { Workspace } from "@dispatch/wire";
import { toolsConfigSchema } from "../config.ts";
import { createLocalBackend } from "../local-backend.ts";
import { Sandboxes } from "./sandboxes.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function workspace(root: string, network: boolean | null = null): Workspace {
  const at = new Date(0).toISOString();
  return {
    id: "ws",
    name: "ws",
    root,
    hostId: null,
    starred: false,
    network,
    permissions: {},
    createdAt: at,
    updatedAt: at,
  };
}

function setup(
  tools: Record<string, unknown> | ((dir: string) => Record<string, unknown>),
  hiddenLocally: (dir: string) => string[] = () => [],
  // Not under /tmp, which the sandbox replaces as a whole: hiding must be what keeps files out.
  parent = "/var/tmp",
) {
  const dir = realpathSync(mkdtempSync(join(parent, "sandboxes-test-")));
  dirs.push(dir);
  const root = join(dir, "root");
  mkdirSync(root);
  const { logger, records } = createMemoryLogger();
  const config = toolsConfigSchema.parse(typeof tools === "function" ? tools(dir) : tools);
  const sandboxes = new Sandboxes({ ...config, hiddenLocally: hiddenLocally(dir) }, logger);
  return { dir, root, records, sandboxes, backend: createLocalBackend() };
}

describe("Sandboxes", () => {
  test("required with a missing binary refuses every call with the reason, and /health says refused", async () => {
    const { root, sandboxes, backend, records } = setup({
      sandbox: "required",
      sandboxBinary: "/missing/bwrap",
    });
    const error = await sandboxes.prepare(workspace(root), backend, root, root).catch((e: unknown) => e);
    expect(DispatchError.isInstance(error) && error.code).toBe("sandbox_unavailable");
    expect((error as Error).message).toContain('tools.sandbox is "required"');
    expect((error as Error).message).toContain('"/missing/bwrap" was not found');
    expect(sandboxes.health()).toMatchObject({
      mode: "required",
      hosts: { local: { state: "unavailable", bash: "refused" } },
    });
    expect(records.some((r) => r.level === "error" && String(r.msg).includes("bash is refused"))).toBe(true);
  });

  test("auto with a missing binary runs unconfined and says so in /health and the log", async () => {
    const { root, sandboxes, backend, records } = setup({ sandboxBinary: "/missing/bwrap" });
    const call = await sandboxes.prepare(workspace(root), backend, root, root);
    expect(call.launcher).toBeUndefined();
    expect(sandboxes.health()).toMatchObject({
      mode: "auto",
      hosts: {
        local: {
          state: "unavailable",
          bash: "unconfined",
          reason: expect.stringContaining("/missing/bwrap"),
        },
      },
    });
    expect(records.some((r) => r.level === "warn" && String(r.msg).includes("bash runs unconfined"))).toBe(
      true,
    );
  });

  test("tools.network opens the network for every workspace but one that says network: false", async () => {
    const { root, sandboxes, backend } = setup({ network: true });
    expect((await sandboxes.prepare(workspace(root), backend, root, root)).launcher).not.toContain(
      "--unshare-net",
    );
    expect((await sandboxes.prepare(workspace(root, false), backend, root, root)).launcher).toContain(
      "--unshare-net",
    );
  });

  test("a git worktree under a hidden directory: git works in the sandbox, the repository stays read-only", async () => {
    const { dir, sandboxes, backend } = setup({}, (d) => [join(d, "data")]);
    const repo = join(dir, "data", "repo");
    const worktree = join(dir, "data", "worktrees", "w1");
    const git = (cwd: string, ...args: string[]) => {
      const run = Bun.spawnSync(["git", "-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd });
      if (run.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${run.stderr.toString()}`);
    };
    mkdirSync(repo, { recursive: true });
    git(repo, "init", "-q", "-b", "main");
    writeFileSync(join(repo, "a.txt"), "a\n");
    git(repo, "add", "a.txt");
    git(repo, "commit", "-q", "-m", "first");
    git(repo, "worktree", "add", "-q", "-b", "w1", worktree);
    const call = await sandboxes.prepare(workspace(worktree), backend, worktree, worktree);
    const run = (command: string) =>
      backend.exec(command, {
        cwd: worktree,
        timeoutMs: 20_000,
        maxOutputBytes: 65536,
        launcher: call.launcher,
      });
    const status = await run("echo b > b.txt && git status --porcelain && git log --oneline");
    expect(status.stderr).toBe("");
    expect(status.stdout).toContain("?? b.txt");
    expect(status.stdout).toContain("first");
    const commit = await run("git add b.txt && git -c user.name=t -c user.email=t@t commit -q -m second");
    expect(commit.exitCode).not.toBe(0);
    expect(commit.stderr).toMatch(/Read-only file system|insufficient permission/);
  });

  test("none never probes", async () => {
    const { root, sandboxes, backend } = setup({ sandbox: "none" });
    expect((await sandboxes.prepare(workspace(root), backend, root, root)).launcher).toBeUndefined();
    expect(sandboxes.health()).toEqual({ mode: "none", hosts: {} });
  });

  test("a sandboxed call hides the configured paths and the host's own, and follows the workspace's network", async () => {
    const { dir, root, sandboxes, backend } = setup(
      (d) => ({ hiddenPaths: [join(d, "keys"), join(d, "gone")] }),
      (d) => [join(d, "data")],
    );
    mkdirSync(join(dir, "keys"));
    writeFileSync(join(dir, "keys", "id"), "PRIVATE KEY\n");
    mkdirSync(join(dir, "data"));
    writeFileSync(join(dir, "data", "db"), "CONVERSATIONS\n");
    writeFileSync(join(dir, "visible.txt"), "VISIBLE\n");
    const offline = await sandboxes.prepare(workspace(root), backend, root, root);
    expect(offline.launcher).toContain("--unshare-net");
    expect(offline.note).toContain("no network");
    const result = await backend.exec(`cat ${dir}/visible.txt ${dir}/keys/id ${dir}/data/db`, {
      cwd: root,
      timeoutMs: 20_000,
      maxOutputBytes: 65536,
      launcher: offline.launcher,
    });
    // The rest of the host stays readable: it is the hiding that keeps these two out.
    expect(result.stdout).toContain("VISIBLE");
    expect(result.stderr).toContain(`${dir}/keys/id: No such file or directory`);
    expect(result.stdout).not.toContain("PRIVATE KEY");
    expect(result.stdout).not.toContain("CONVERSATIONS");
    const online = await sandboxes.prepare(workspace(root, true), backend, root, root);
    expect(online.launcher).not.toContain("--unshare-net");
    expect(online.note).toContain("the network is available");
  });
});
