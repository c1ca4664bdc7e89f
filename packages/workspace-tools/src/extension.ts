import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { LockRepository } from "@dispatch/conversation-store";
import { conversationStoreRef } from "@dispatch/conversation-store";
import { defineExtension, KernelError, perHost } from "@dispatch/kernel";
import { toolsPoint } from "@dispatch/session-orchestrator";
import { type ExecutionBackends, executionBackendsRef } from "./backend.ts";
import { executionBackendsPoint, LOCAL_HOST_ID } from "./backend-point.ts";
import { toolsConfigSchema } from "./config.ts";
import { executionBackendsFrom } from "./execution-backends.ts";
import { createLocalBackend } from "./local-backend.ts";
import { sweepLocks } from "./lock-maintenance.ts";
import { RootPins } from "./root-pins.ts";
import { Sandboxes } from "./sandbox/sandboxes.ts";
import { ToolProcessRecords } from "./tool-process-records.ts";
import { TurnFiles } from "./turn-files.ts";
import { createWorkspaceTools, toolList } from "./workspace-tools.ts";

/** What the tools need at run time; the backends and locks are filled in when the extension activates. */
interface Running {
  backends?: ExecutionBackends;
  locks?: LockRepository;
  sandboxes?: Sandboxes;
  readonly pins: RootPins;
  readonly turnFiles: TurnFiles;
  toolNames: string[];
}
const runningOn = perHost(
  (): Running => ({ pins: new RootPins(), turnFiles: new TurnFiles(), toolNames: [] }),
);

/** The empty, unreadable file mounted over hidden files; made once in the extension's own directory. */
async function hiddenFilePlaceholder(dir: string): Promise<string> {
  const path = join(dir, "hidden-file");
  await writeFile(path, "", { mode: 0o000, flag: "a" });
  await chmod(path, 0o000);
  return path;
}

function running<T>(value: T | undefined): T {
  if (value === undefined) throw new KernelError("not_active", "the workspace-tools extension is not active");
  return value;
}

/**
 * The workspace tools: contributes read_file, write_file, edit_file, list_dir, grep and bash to the
 * orchestrator, provides the execution backends contributed to its point (the local one is its own
 * contribution, the SSH extension adds one per host), releases a turn's file locks when it finishes
 * and sweeps stale ones on one timer. Workspace roots are pinned (device and inode) when loaded at
 * activation or created, and re-pinned when re-rooted.
 */
export const workspaceToolsExtension = defineExtension({
  manifest: {
    id: "workspace-tools",
    version: "0.1.0",
    dependsOn: ["conversation-store"],
    extends: ["session-orchestrator"],
  },
  provides: [executionBackendsRef],
  extensionPoints: [executionBackendsPoint],
  consumes: [conversationStoreRef],
  config: { key: "tools", schema: toolsConfigSchema },
  register(reg) {
    const config = reg.config;
    const dataDir = reg.host.dataDir;
    reg.contribute(executionBackendsPoint, {
      hostId: LOCAL_HOST_ID,
      create: () =>
        createLocalBackend(undefined, {
          secretEnvNames: config.secretEnvNames,
          records: new ToolProcessRecords(dataDir),
        }),
    });
    const state = runningOn(reg.host);
    // The tools read their backends and locks when they run, which is only once everything is active.
    const tools = createWorkspaceTools({
      config,
      get backends() {
        return running(state.backends);
      },
      get locks() {
        return running(state.locks);
      },
      pins: state.pins,
      turnFiles: state.turnFiles,
      sandbox: {
        prepare: (workspace, backend, root, cwd) =>
          running(state.sandboxes).prepare(workspace, backend, root, cwd),
      },
    });
    for (const tool of toolList(tools)) reg.contribute(toolsPoint, tool);
    state.toolNames = toolList(tools).map((tool) => tool.name);
  },
  async activate(ctx) {
    const store = ctx.use(conversationStoreRef);
    const state = runningOn(ctx.host);
    const backends = executionBackendsFrom(() => ctx.contributions(executionBackendsPoint));
    ctx.provide(executionBackendsRef, backends);
    state.backends = backends;
    state.locks = store.locks;
    const sandboxes = new Sandboxes(
      // The host's own data (the database, other workspaces, records) is hidden from bash.
      {
        ...ctx.config,
        hiddenLocally: [ctx.host.dataDir],
        filePlaceholder: await hiddenFilePlaceholder(ctx.dataDir),
      },
      ctx.logger,
    );
    state.sandboxes = sandboxes;
    ctx.onDispose(() => {
      state.backends = undefined;
      state.locks = undefined;
      state.sandboxes = undefined;
    });
    // The local probe runs in the background from here: start-up does not wait for it (it is two
    // or three process starts, 50-250 ms under load), a bash call does, and /health says
    // "probing" until it is done. Shutdown waits for it (bounded by the probe's own timeout); a
    // remote host's probe is owned by its pool, which ends it when it stops.
    if (ctx.config.sandbox === "none") ctx.logger.info("bash runs unconfined: tools.sandbox is none");
    else {
      const local = sandboxes.probe(backends.forHost(null)).catch(() => undefined);
      ctx.onDispose(async () => {
        await local;
      });
      ctx.onReady(() => {
        // Remote hosts too, in the background: one that is down must not hold anything up.
        for (const { value } of ctx.contributions(executionBackendsPoint)) {
          if (value.hostId === LOCAL_HOST_ID) continue;
          try {
            void sandboxes.probe(backends.forHost(value.hostId)).catch(() => undefined);
          } catch (error) {
            ctx.logger.warn("no backend to probe the sandbox on", { hostId: value.hostId, err: error });
          }
        }
      });
    }

    // Pins follow the workspace records: created and re-rooted ones are pinned as they are now.
    const { pins, turnFiles } = state;
    const repin = async ({
      workspace,
    }: {
      workspace: { id: string; root: string; hostId: string | null };
    }) => {
      if (workspace.hostId === null) await pins.pin(workspace, backends.forHost(null));
    };
    ctx.bus.subscribe("workspace.created", repin);
    ctx.bus.subscribe("workspace.updated", repin);
    ctx.bus.subscribe("workspace.deleted", ({ id }) => pins.forget(id));
    for (const workspace of await store.workspaces.list()) await repin({ workspace });

    const stats = { released: 0, expired: 0, orphaned: 0, lastSweepAt: null as string | null };
    ctx.bus.subscribe("turn.finished", async ({ turnId }) => {
      turnFiles.forget(turnId);
      // Most turns hold no lock: in the group commit the look joins the other turns' writes of its
      // loop turn instead of being a read transaction of its own.
      stats.released += await store.grouped(() => store.locks.releaseTurn(turnId), { atomic: true });
    });

    let sweeping = false;
    const sweep = async () => {
      // A sweep slower than the interval must not overlap the next one.
      if (sweeping) return;
      sweeping = true;
      try {
        const report = await sweepLocks(store, Date.now());
        stats.expired += report.expired;
        stats.orphaned += report.orphaned;
        stats.lastSweepAt = new Date().toISOString();
        if (report.orphaned > 0)
          ctx.logger.info("released locks of finished turns", { count: report.orphaned });
      } finally {
        sweeping = false;
      }
    };
    ctx.setInterval(sweep, ctx.config.lockSweepMs);
    // Locks left by the previous run's last turns go at once, not a sweep interval later.
    ctx.onReady(sweep);
    ctx.setHealth(() => ({ tools: state.toolNames, locks: { ...stats }, sandbox: sandboxes.health() }));
  },
});
