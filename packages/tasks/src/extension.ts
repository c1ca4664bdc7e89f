import { clusterRef } from "@dispatch/cluster";
import { conversationStoreRef, storeSchemasPoint } from "@dispatch/conversation-store";
import { Counter, defineExtension, Gauge, Histogram, KernelError, perHost } from "@dispatch/kernel";
import { orchestratorRef } from "@dispatch/session-orchestrator";
import { httpRoutesPoint } from "@dispatch/transport-http";
import { tasksConfigSchema } from "./config.ts";
import { taskHooksPoint, tasksRef } from "./task-hooks.ts";
import { resumeOperations, taskOperations } from "./task-openapi.ts";
import { TaskQueue } from "./task-queue.ts";
import { resumeRoutes, taskRoutes } from "./task-routes.ts";
import { TaskScheduler } from "./task-scheduler.ts";

/** The queue and scheduler of one host, for the routes contributed before they exist. */
const runningOn = perHost((): { queue?: TaskQueue; scheduler?: TaskScheduler } => ({}));

function started(state: { queue?: TaskQueue; scheduler?: TaskScheduler }): {
  queue: TaskQueue;
  scheduler: TaskScheduler;
} {
  if (state.queue === undefined || state.scheduler === undefined) {
    throw new KernelError("not_active", "the tasks extension is not active");
  }
  return { queue: state.queue, scheduler: state.scheduler };
}

/**
 * The task queue (DESIGN §12) as an extension on public seams: its tables come in through the
 * store's schema point, each attempt is a headless conversation started through the orchestrator,
 * and its routes are mounted like any extension's. It offers `taskHooksPoint` (work around each
 * attempt: git worktrees, validation) and `tasksRef` (a task's result patched later: a push).
 */
export const tasksExtension = defineExtension({
  manifest: {
    id: "tasks",
    version: "0.1.0",
    dependsOn: ["conversation-store", "session-orchestrator"],
    optionalDependsOn: ["cluster"],
    extends: ["conversation-store", "transport-http"],
  },
  provides: [tasksRef],
  extensionPoints: [taskHooksPoint],
  consumes: [conversationStoreRef, orchestratorRef, clusterRef],
  config: { key: "tasks", schema: tasksConfigSchema },
  register(reg) {
    reg.contribute(storeSchemasPoint, {
      migrations: {
        sqlite: new URL("../drizzle", import.meta.url),
        postgres: new URL("../drizzle-postgres", import.meta.url),
      },
    });
    const state = runningOn(reg.host);
    reg.contribute(httpRoutesPoint, {
      path: "/tasks",
      routes: () => {
        const { queue, scheduler } = started(state);
        return taskRoutes(queue, scheduler);
      },
      openapi: taskOperations,
    });
    reg.contribute(httpRoutesPoint, {
      path: "/workspaces",
      routes: () => {
        const { queue, scheduler } = started(state);
        return resumeRoutes(queue, scheduler);
      },
      openapi: resumeOperations,
    });
  },
  async activate(ctx) {
    const store = ctx.use(conversationStoreRef);
    const orchestrator = ctx.use(orchestratorRef);
    const clock = () => Date.now();
    const queue = new TaskQueue({
      store,
      config: ctx.config,
      clock,
      publish: (event, payload) => ctx.bus.publish(event, payload),
    });
    const attemptsEnded = new Counter({
      name: "dispatch_task_attempts_total",
      help: "Task attempts that ended, by outcome",
      labelNames: ["outcome"],
      registers: [ctx.metrics],
    });
    const queueWait = new Histogram({
      name: "dispatch_task_queue_wait_seconds",
      help: "Time from a task's creation (or retry) to the start of its attempt",
      buckets: [0.1, 1, 10, 60, 300, 1800, 3600, 86_400],
      registers: [ctx.metrics],
    });
    const scheduler = new TaskScheduler({
      queue,
      orchestrator,
      store,
      config: ctx.config,
      logger: ctx.logger,
      clock,
      onFault: (kind, error) => ctx.reportFault(kind, error),
      observe: {
        attemptEnded: (outcome) => attemptsEnded.inc({ outcome }),
        queueWait: (ms) => queueWait.observe(ms / 1000),
      },
      hooks: () => ctx.contributions(taskHooksPoint).map((c) => c.value),
    });
    ctx.provide(tasksRef, { patchResult: (taskId, patch) => queue.patchResult(taskId, patch) });
    let snapshot = { counts: await queue.counts(), budget: await queue.budgetUsed(), breakers: 0 };
    const refresh = async () => {
      snapshot = {
        counts: await queue.counts(),
        budget: await queue.budgetUsed(),
        breakers: (await queue.openBreakers()).length,
      };
    };
    new Gauge({
      name: "dispatch_tasks",
      help: "Tasks by status",
      labelNames: ["status"],
      registers: [ctx.metrics],
      collect() {
        for (const [status, n] of Object.entries(snapshot.counts)) this.set({ status }, n);
      },
    });
    new Gauge({
      name: "dispatch_task_budget_used",
      help: "Today's task budget used (day in tasks.timeZone), by kind",
      labelNames: ["kind"],
      registers: [ctx.metrics],
      collect() {
        this.set({ kind: "attempts" }, snapshot.budget.attempts);
        this.set({ kind: "tokens" }, snapshot.budget.tokens);
      },
    });
    new Gauge({
      name: "dispatch_task_breakers_open",
      help: "Workspaces whose task breaker holds their queue back",
      registers: [ctx.metrics],
      collect() {
        this.set(snapshot.breakers);
      },
    });
    ctx.onDispose(() => {
      for (const name of [
        "dispatch_task_attempts_total",
        "dispatch_task_queue_wait_seconds",
        "dispatch_tasks",
        "dispatch_task_budget_used",
        "dispatch_task_breakers_open",
      ])
        ctx.metrics.removeSingleMetric(name);
    });

    const cluster = ctx.useOptional(clusterRef);
    if (cluster?.enabled) {
      // Several hosts share the queue: only a dead host's attempts are recovered, by whichever
      // survivor gets to each first (the cluster tells every host, this one too at start-up).
      ctx.bus.subscribe("cluster.instance_lost", async ({ instanceId }) => {
        const recovered = await queue.recoverInstance(instanceId);
        if (recovered > 0) {
          ctx.logger.warn("tasks of a host that stopped were interrupted and queued again", {
            instanceId,
            recovered,
          });
          void scheduler.kick();
        }
      });
      ctx.bus.subscribe("cluster.fenced", () => scheduler.stop());
    } else {
      const recovered = await queue.recoverRunning();
      if (recovered > 0)
        ctx.logger.warn("tasks left running by the last run were interrupted and queued again", {
          recovered,
        });
    }

    ctx.bus.subscribe("conversation.event", ({ conversationId, event }) =>
      scheduler.onEvent(conversationId, event),
    );
    ctx.bus.subscribe("turn.finished", ({ conversationId, turnId, status }) =>
      scheduler.onTurnFinished(conversationId, turnId, status),
    );
    ctx.bus.subscribe("workspace.starred", ({ workspace }) => queue.setStarred(workspace.id, true));
    ctx.bus.subscribe("workspace.unstarred", ({ workspace }) => queue.setStarred(workspace.id, false));

    const state = runningOn(ctx.host);
    state.queue = queue;
    state.scheduler = scheduler;
    ctx.setInterval(async () => {
      await scheduler.tick();
      await refresh();
    }, ctx.config.tickMs);
    ctx.onReady(() => scheduler.kick());
    ctx.onDispose(async () => {
      await scheduler.stop();
      state.queue = undefined;
      state.scheduler = undefined;
    });
    ctx.setHealth(() => ({ attemptsInThisProcess: scheduler.running, tasks: snapshot.counts }));
  },
});
