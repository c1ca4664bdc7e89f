import { expect } from "bun:test";
import type { ConversationStore } from "@dispatch/conversation-store";
import type { Task } from "@dispatch/wire";
import fc from "fast-check";
import type { TasksConfig } from "../src/config.ts";
import { dayKey } from "../src/day-key.ts";
import type { TaskQueue } from "../src/task-queue.ts";
import type { ManualClock } from "./fixtures.ts";

const workspaces = ["w0", "w1", "w2"];
const claimableStatuses = new Set(["queued", "stuck"]);

type Command = { on: number } & (
  | { kind: "create"; ws: number; priority: number }
  | { kind: "claim" }
  | { kind: "claimRace" }
  | { kind: "complete"; k: number }
  | { kind: "fail"; k: number; retryable: boolean }
  | { kind: "stuck"; k: number }
  | { kind: "spent"; k: number }
  | { kind: "cancel"; k: number }
  | { kind: "retry"; k: number }
  | { kind: "advance"; ms: number }
  | { kind: "star"; ws: number; starred: boolean }
);

type Action = Command extends infer C ? (C extends unknown ? Omit<C, "on"> : never) : never;

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("create" as const),
      ws: fc.nat(2),
      priority: fc.integer({ min: -2, max: 2 }),
    }),
  },
  { weight: 5, arbitrary: fc.constant({ kind: "claim" as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: "claimRace" as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("complete" as const), k: fc.nat(5) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("fail" as const), k: fc.nat(5), retryable: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("stuck" as const), k: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("spent" as const), k: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancel" as const), k: fc.nat(30) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("retry" as const), k: fc.nat(30) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("advance" as const),
      ms: fc.constantFrom(0, 500, 1000, 1500, 61_000, 130_000, 3_600_000, 86_400_000),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("star" as const), ws: fc.nat(2), starred: fc.boolean() }),
  },
);

/** The queues under test: one per host, all on one database, sharing one clock and one config. */
export interface QueueHosts {
  queues: TaskQueue[];
  store: ConversationStore;
  clock: ManualClock;
  config: TasksConfig;
  stop(): Promise<void>;
}

/** The limits the property runs under. */
export const propertyConfig: Partial<TasksConfig> = {
  maxRunning: 2,
  cooldownMs: 1000,
  dailyBudget: { attempts: 5 },
  agingMs: 120_000,
  retryBackoffMs: [1000, 60_000],
  maxAttempts: 3,
  breaker: { failures: 1000, cooldownMs: 1000 },
};

/**
 * Random schedules of creates, claims (one host, or every host at once), completions, failures,
 * stuck attempts, spent budgets, cancels, retries, time and stars, each run on a random host: never more than
 * maxRunning, never two starts within cooldownMs, never past the daily budget, and each claim takes
 * the task the order rule names.
 */
export async function checkClaimProperty(hosts: () => Promise<QueueHosts>, numRuns: number): Promise<void> {
  const command = (n: number): fc.Arbitrary<Command> =>
    fc.tuple(fc.nat(n - 1), action).map(([on, act]) => ({ ...act, on }) as Command);
  await fc.assert(
    fc.asyncProperty(fc.array(command(2), { minLength: 10, maxLength: 60 }), async (commands) => {
      const { queues, store, clock, config, stop } = await hosts();
      try {
        for (const id of workspaces) await store.workspaces.create({ id, root: `/tmp/${id}` });
        const starred = new Set<string>();
        const known: string[] = [];
        const starts: number[] = [];
        const anyQueue = queues[0] as TaskQueue;
        const running = async () => (await anyQueue.list({ status: "running", limit: 500 })).tasks;
        const all = async () => (await anyQueue.list({ limit: 500 })).tasks;
        for (const cmd of commands) {
          const queue = queues[cmd.on % queues.length] as TaskQueue;
          switch (cmd.kind) {
            case "create": {
              const ws = workspaces[cmd.ws] as string;
              const task = await queue.create({
                workspaceId: ws,
                spec: "do it",
                priority: cmd.priority,
                options: {},
              });
              known.push(task.id);
              break;
            }
            case "claim": {
              const before = await all();
              const expected = expectedNext(before, starred, clock(), config.agingMs);
              const result = await queue.claim();
              if ("n" in result) {
                expect(result.id).toBe(expected?.id as string);
                starts.push(clock());
              } else if (result.reason === "empty") {
                expect(expected).toBeUndefined();
              }
              break;
            }
            case "claimRace": {
              // every host claims at once: the claims queue up on the lock, and all starts happen at
              // one instant, so cooldownMs lets one through at most; it must be the order's first
              const before = await all();
              const expected = expectedNext(before, starred, clock(), config.agingMs);
              const results = await Promise.all(queues.map((q) => q.claim()));
              const won = results.filter((r) => "n" in r);
              expect(won.length).toBeLessThanOrEqual(1);
              for (const result of won) {
                expect(result.id).toBe(expected?.id as string);
                starts.push(clock());
              }
              break;
            }
            case "complete": {
              const task = (await running())[cmd.k % 6];
              if (task) await queue.complete(task.id, task.attempt, { ok: true });
              break;
            }
            case "fail": {
              const task = (await running())[cmd.k % 6];
              if (task)
                await queue.fail(task.id, task.attempt, {
                  status: "failed",
                  message: "no",
                  retryable: cmd.retryable,
                });
              break;
            }
            case "stuck": {
              const task = (await running())[cmd.k % 6];
              if (task)
                await queue.fail(task.id, task.attempt, {
                  status: "stuck",
                  message: "silent",
                  retryable: true,
                });
              break;
            }
            case "spent": {
              // a usage budget ran out in the attempt's turn: the task waits for the next day
              const task = (await running())[cmd.k % 6];
              if (task)
                await queue.fail(task.id, task.attempt, {
                  status: "failed",
                  message: "budget_exceeded",
                  retryable: false,
                  budget: true,
                });
              break;
            }
            case "cancel": {
              const id = known[cmd.k % Math.max(known.length, 1)];
              if (id) await queue.cancel(id).catch(() => {});
              break;
            }
            case "retry": {
              const id = known[cmd.k % Math.max(known.length, 1)];
              if (id) await queue.retry(id).catch(() => {});
              break;
            }
            case "advance":
              clock.now += cmd.ms;
              break;
            case "star": {
              const ws = workspaces[cmd.ws] as string;
              if (cmd.starred) starred.add(ws);
              else starred.delete(ws);
              // what the extension's bus subscription does on workspace.starred / unstarred
              if (cmd.starred) await store.workspaces.star(ws);
              else await store.workspaces.unstar(ws);
              await queue.setStarred(ws, cmd.starred);
              break;
            }
          }
          const now = await all();
          expect(now.filter((t) => t.status === "running").length).toBeLessThanOrEqual(config.maxRunning);
          for (const task of now) {
            // one attempt row per claim, numbered 1..attempt
            expect(task.attempts.map((a) => a.n)).toEqual(
              Array.from({ length: task.attempt }, (_, i) => i + 1),
            );
            if (claimableStatuses.has(task.status)) expect(task.nextRunAt).not.toBeNull();
            else expect(["running", "completed", "failed", "cancelled"]).toContain(task.status);
          }
        }
        for (let i = 1; i < starts.length; i++) {
          expect((starts[i] as number) - (starts[i - 1] as number)).toBeGreaterThanOrEqual(config.cooldownMs);
        }
        const perDay = Map.groupBy(starts, (at) => dayKey(at, config.timeZone));
        for (const day of perDay.values()) expect(day.length).toBeLessThanOrEqual(5);
      } finally {
        await stop();
      }
    }),
    { numRuns },
  );
}

/** The order rule, written independently of the queue: starred or aged first, then priority, age, arrival. */
function expectedNext(
  tasks: readonly Task[],
  starred: ReadonlySet<string>,
  now: number,
  agingMs: number,
): Task | undefined {
  const ready = tasks.filter(
    (t) => claimableStatuses.has(t.status) && t.nextRunAt !== null && Date.parse(t.nextRunAt) <= now,
  );
  const rank = (t: Task) => (starred.has(t.workspaceId) || Date.parse(t.createdAt) <= now - agingMs ? 0 : 1);
  // the list is newest first; arrival order is the reverse
  const arrival = new Map(tasks.map((t, i) => [t.id, tasks.length - i]));
  return ready.sort(
    (a, b) =>
      rank(a) - rank(b) ||
      b.priority - a.priority ||
      Date.parse(a.createdAt) - Date.parse(b.createdAt) ||
      (arrival.get(a.id) ?? 0) - (arrival.get(b.id) ?? 0),
  )[0];
}
