import { resolve } from "node:path";
import { clusterRef } from "@dispatch/cluster";
import { conversationStoreRef, storeSchemasPoint } from "@dispatch/conversation-store";
import { Counter, DispatchError, defineExtension, Gauge, perHost } from "@dispatch/kernel";
import { runScopesPoint } from "@dispatch/session-orchestrator";
import { taskHooksPoint, tasksRef } from "@dispatch/tasks";
import { httpRoutesPoint } from "@dispatch/transport-http";
import { executionBackendsRef } from "@dispatch/workspace-tools";
import { gitConfigSchema } from "./config.ts";
import { createGitScope } from "./git-scope.ts";
import { createGitTaskHooks } from "./git-task-hooks.ts";
import { KeyedMutex } from "./keyed-mutex.ts";
import { Maintenance } from "./maintenance.ts";
import { Pusher } from "./pusher.ts";
import { worktreeOperations, worktreeRoutes } from "./routes.ts";
import type { GitRuntime } from "./runtime.ts";
import { WorktreeStore } from "./worktree-store.ts";
import { Worktrees } from "./worktrees.ts";

/** The running parts of one host, for the contributions made before they exist. */
const runningOn = perHost((): { runtime?: GitRuntime } => ({}));

const metricNames = {
  worktrees: "dispatch_git_worktrees",
  pushStatus: "dispatch_git_push_status",
  pushes: "dispatch_git_pushes_total",
  commits: "dispatch_git_commits_total",
  validations: "dispatch_git_validations_total",
} as const;

/**
 * Git workflows (DESIGN §13) as an extension on public seams: a run scope of the orchestrator puts
 * the turns of worktree conversations and task attempts in their worktree (the tools are confined
 * there) and commits each completed turn; task hooks hold the worktree for the whole attempt, run
 * `validate` and push; its tables come in through the store's schema point and its routes at
 * `/worktrees`. Git runs through the execution backend of the workspace's host, so remote
 * workspaces work the same over SSH.
 */
export const gitWorkflowsExtension = defineExtension({
  manifest: {
    id: "git-workflows",
    version: "0.1.0",
    dependsOn: ["conversation-store", "workspace-tools", "tasks"],
    optionalDependsOn: ["cluster"],
    extends: ["conversation-store", "session-orchestrator", "tasks", "transport-http"],
  },
  consumes: [conversationStoreRef, executionBackendsRef, tasksRef, clusterRef],
  config: { key: "git", schema: gitConfigSchema },
  register(reg) {
    reg.contribute(storeSchemasPoint, {
      migrations: {
        sqlite: new URL("../drizzle", import.meta.url),
        postgres: new URL("../drizzle-postgres", import.meta.url),
      },
    });
    const state = runningOn(reg.host);
    const runtime = (): GitRuntime => {
      if (state.runtime === undefined) {
        throw new DispatchError("unavailable", "the git-workflows extension is not active");
      }
      return state.runtime;
    };
    reg.contribute(runScopesPoint, createGitScope(runtime));
    reg.contribute(taskHooksPoint, createGitTaskHooks(runtime));
    reg.contribute(httpRoutesPoint, {
      path: "/worktrees",
      routes: () => worktreeRoutes(runtime),
      openapi: worktreeOperations,
    });
  },
  async activate(ctx) {
    const conversations = ctx.use(conversationStoreRef);
    const backends = ctx.use(executionBackendsRef);
    const tasks = ctx.use(tasksRef);
    const config = ctx.config;
    const clock = () => Date.now();
    const store = new WorktreeStore(conversations, clock);
    const worktrees = new Worktrees({
      backends,
      store,
      config,
      localDir: resolve(ctx.host.dataDir, "worktrees"),
      mutex: new KeyedMutex(),
      logger: ctx.logger,
    });
    const workspaceOf = (id: string) => conversations.workspaces.get(id);

    const pushes = new Counter({
      name: metricNames.pushes,
      help: "Pushes of run branches to git.remote, by outcome (retry: failed, tried again later)",
      labelNames: ["outcome"],
      registers: [ctx.metrics],
    });
    const commits = new Counter({
      name: metricNames.commits,
      help: "Commits made by completed turns in worktrees",
      registers: [ctx.metrics],
    });
    const validations = new Counter({
      name: metricNames.validations,
      help: "Task validation runs, by status",
      labelNames: ["status"],
      registers: [ctx.metrics],
    });
    let snapshot = await store.counts();
    new Gauge({
      name: metricNames.worktrees,
      help: "Worktrees by state (new: not made yet; active: on disk; removed: after git.retainMs)",
      labelNames: ["state"],
      registers: [ctx.metrics],
      collect() {
        for (const state of ["new", "active", "removed"]) this.set({ state }, snapshot.states[state] ?? 0);
      },
    });
    new Gauge({
      name: metricNames.pushStatus,
      help: "Worktrees by push status (none: nothing pushed yet, or no git.remote)",
      labelNames: ["status"],
      registers: [ctx.metrics],
      collect() {
        for (const status of ["pending", "pushed", "failed", "none"])
          this.set({ status }, snapshot.pushes[status] ?? 0);
      },
    });

    const pusher = new Pusher({
      store,
      worktrees,
      workspaceOf,
      config,
      clock,
      logger: ctx.logger,
      // a task's result mirrors its branch's push state, which can change long after it completed
      changed: async (row) => {
        if (row.kind !== "task") return;
        await tasks.patchResult(row.id, {
          pushStatus: row.pushStatus,
          pushError: row.pushError,
          pushedSha: row.pushedSha,
        });
      },
      observe: (outcome) => pushes.inc({ outcome }),
      onFault: (kind, error) => ctx.reportFault(kind, error),
    });
    const runtime: GitRuntime = {
      store,
      worktrees,
      pusher,
      config,
      workspaceOf,
      logger: ctx.logger,
      clock,
      observe: { commit: () => commits.inc(), validation: (status) => validations.inc({ status }) },
    };
    const maintenance = new Maintenance(() => runtime);
    const cluster = ctx.useOptional(clusterRef);
    if (cluster?.enabled) {
      // Several hosts share the rows: only a dead host's holds are freed (the cluster tells every
      // host, this one too at start-up for the previous process of its data dir).
      ctx.bus.subscribe("cluster.instance_lost", async ({ instanceId }) => {
        const released = await store.releaseInstance(instanceId);
        if (released > 0)
          ctx.logger.warn("freed the worktree holds of a host that stopped", { instanceId, released });
      });
    } else {
      const freed = await maintenance.recover();
      if (freed > 0) ctx.logger.warn("freed worktree holds left by the last run", { freed });
    }

    const state = runningOn(ctx.host);
    state.runtime = runtime;
    ctx.bus.subscribe("task.changed", async ({ id, change }) => {
      if (change === "deleted") await maintenance.taskDeleted(id);
    });
    ctx.bus.subscribe("workspace.deleted", ({ id }) => maintenance.workspaceDeleted(id));

    let pruning: Promise<void> = Promise.resolve();
    // in the background: an unreachable SSH host must not hold up start-up
    ctx.onReady(() => {
      pruning = maintenance
        .pruneAll()
        .catch((error: unknown) => ctx.reportFault("git worktree prune", error));
    });
    let ticking = false;
    ctx.setInterval(async () => {
      if (ticking) return;
      ticking = true;
      try {
        await pusher.tick();
        await maintenance.sweep();
        snapshot = await store.counts();
      } finally {
        ticking = false;
      }
    }, config.tickMs);
    ctx.onDispose(async () => {
      state.runtime = undefined;
      await pruning;
      await pusher.drain();
      for (const name of Object.values(metricNames)) ctx.metrics.removeSingleMetric(name);
    });
    ctx.setHealth(() => ({
      remote: config.remote,
      pushesInFlight: pusher.inFlight,
      worktrees: snapshot.states,
      pushes: snapshot.pushes,
    }));
  },
});
