import { conversationStoreRef } from "@dispatch/conversation-store";
import { defineExtension } from "@dispatch/kernel";
import { orchestratorRef } from "@dispatch/session-orchestrator";
import { executionBackendsRef } from "./backend.ts";
import { toolsConfigSchema } from "./config.ts";
import { createExecutionBackends } from "./execution-backends.ts";
import { createLocalBackend } from "./local-backend.ts";
import { sweepLocks } from "./lock-maintenance.ts";
import { RootPins } from "./root-pins.ts";
import { ToolProcessRecords } from "./tool-process-records.ts";
import { TurnFiles } from "./turn-files.ts";
import { createWorkspaceTools, toolList } from "./workspace-tools.ts";

/**
 * The workspace tools: registers read_file, write_file, edit_file, list_dir, grep and bash with the
 * orchestrator, provides the execution backends (local, plus any the SSH extension registers),
 * releases a turn's file locks when it finishes and sweeps stale ones on one timer. Workspace roots
 * are pinned (device and inode) when loaded at activation or created, and re-pinned when re-rooted.
 */
export const workspaceToolsExtension = defineExtension({
  manifest: {
    id: "workspace-tools",
    version: "0.1.0",
    dependsOn: ["conversation-store", "session-orchestrator"],
  },
  provides: [executionBackendsRef],
  config: { key: "tools", schema: toolsConfigSchema },
  async activate(ctx) {
    const store = ctx.use(conversationStoreRef);
    const orchestrator = ctx.use(orchestratorRef);
    const local = createLocalBackend(undefined, {
      secretEnvNames: ctx.config.secretEnvNames,
      records: new ToolProcessRecords(ctx.host.dataDir),
    });
    const backends = createExecutionBackends(local);
    ctx.provide(executionBackendsRef, backends);

    const pins = new RootPins();
    const turnFiles = new TurnFiles();
    const tools = createWorkspaceTools({ backends, locks: store.locks, config: ctx.config, pins, turnFiles });
    for (const tool of toolList(tools)) ctx.onDispose(orchestrator.tools.register(tool));

    // Pins follow the workspace records: created and re-rooted ones are pinned as they are now.
    const repin = async ({
      workspace,
    }: {
      workspace: { id: string; root: string; hostId: string | null };
    }) => {
      if (workspace.hostId === null) await pins.pin(workspace, local);
    };
    ctx.bus.subscribe("workspace.created", repin);
    ctx.bus.subscribe("workspace.updated", repin);
    ctx.bus.subscribe("workspace.deleted", ({ id }) => pins.forget(id));
    for (const workspace of await store.workspaces.list()) await repin({ workspace });

    const stats = { released: 0, expired: 0, orphaned: 0, lastSweepAt: null as string | null };
    ctx.bus.subscribe("turn.finished", async ({ turnId }) => {
      turnFiles.forget(turnId);
      stats.released += await store.locks.releaseTurn(turnId);
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
    ctx.setHealth(() => ({
      tools: toolList(tools).map((tool) => tool.name),
      locks: { ...stats },
    }));
  },
});
