import type { ExtensionDatabase } from "@dispatch/conversation-store";
import type { TaskStatus } from "@dispatch/wire";
import { and, asc, eq, lte, sql } from "drizzle-orm";
import * as schema from "./schema.ts";

// The SQLite tables; the fragments below name tables and columns only, alike in both dialects, so
// the Postgres claim uses them too.
const { tasks, attempts, days, breakers, claimLock } = schema;

/** Statuses the claim may pick: waiting to run, or waiting to retry after a stuck attempt. */
export const claimable: TaskStatus[] = ["queued", "stuck"];
/**
 * The same condition written out as the partial indexes' WHERE: SQLite uses a partial index only when
 * the query repeats its condition with literals (a bound parameter list does not qualify).
 */
export const isClaimable = sql`${tasks.status} in ('queued', 'stuck')`;

/**
 * The claim's statements, prepared once. `start` is the claim itself: one UPDATE whose WHERE takes the
 * next task in claim order and checks the running count, the cooldown and the day's budget row; the
 * `tasks_tasks_claimed` trigger (migration 0001) records the attempt, the start time and the day's
 * count in the same statement.
 */
export function prepareClaim(db: ExtensionDatabase<typeof schema>) {
  const p = sql.placeholder;
  // tasks that waited past agingMs since the last claim now rank as starred (an index range scan)
  const age = db
    .update(tasks)
    .set({ rank: 0 })
    .where(and(eq(tasks.rank, 1), isClaimable, lte(tasks.createdAt, p("cutoff"))))
    .prepare();
  // Named: without statistics SQLite prefers the status index and sorts every queued row; the claim
  // index walks the claim order itself, so the first ready row is the answer (flat in queue length).
  const next = sql`(select ${tasks.id} from ${tasks} indexed by tasks_tasks_claim_idx
    where ${isClaimable} and ${tasks.nextRunAt} <= ${p("now")}
      and ${tasks.workspaceId} not in (select ${breakers.workspaceId} from ${breakers} where ${breakers.openUntil} > ${p("now")})
    order by ${tasks.rank}, ${tasks.priority} desc, ${tasks.createdAt}, ${tasks.seq}
    limit 1)`;
  const start = db
    .update(tasks)
    .set({
      status: "running",
      attempt: sql`${tasks.attempt} + 1`,
      conversationId: null,
      instanceId: sql`${p("instance")}`,
      updatedAt: sql`${p("now")}`,
      claimDay: sql`${p("day")}`,
    })
    .where(
      and(
        sql`${tasks.id} = ${next}`,
        sql`(select count(*) from ${tasks} where ${tasks.status} = 'running') < ${p("maxRunning")}`,
        sql`coalesce((select ${claimLock.lastStartedAt} from ${claimLock} where ${claimLock.id} = 1), ${-Number.MAX_SAFE_INTEGER}) <= ${p("startedBefore")}`,
        sql`coalesce((select ${days.attempts} from ${days} where ${days.day} = ${p("day")}), 0) < ${p("attemptBudget")}`,
        sql`coalesce((select ${days.tokens} from ${days} where ${days.day} = ${p("day")}), 0) < ${p("tokenBudget")}`,
      ),
    )
    .returning()
    .prepare();
  const attemptsOf = db
    .select()
    .from(attempts)
    .where(eq(attempts.taskId, p("taskId")))
    .orderBy(asc(attempts.n))
    .prepare();
  return { age, start, attemptsOf };
}
