import { eq, sql } from "drizzle-orm";
import type { TasksConfig } from "./config.ts";
import type { TasksDatabase } from "./tasks-database.ts";

// A breaker per workspace (DESIGN §12): its queue waits once its last `failures` attempts all failed.

/** Counts a failed attempt of the workspace; the last one of `failures` in a row opens its breaker. */
export async function recordFailure(
  { db, tables }: TasksDatabase,
  workspaceId: string,
  now: number,
  breaker: TasksConfig["breaker"],
): Promise<void> {
  const { breakers } = tables;
  const [row] = await db
    .insert(breakers)
    .values({ workspaceId, failures: 1, openUntil: null })
    .onConflictDoUpdate({ target: breakers.workspaceId, set: { failures: sql`${breakers.failures} + 1` } })
    .returning();
  if (row !== undefined && row.failures >= breaker.failures) {
    await db
      .update(breakers)
      .set({ failures: 0, openUntil: now + breaker.cooldownMs })
      .where(eq(breakers.workspaceId, workspaceId));
  }
}

/** Closes the workspace's breaker and forgets its failures (a completed attempt, or a resume). */
export async function closeBreaker({ db, tables }: TasksDatabase, workspaceId: string): Promise<void> {
  const { breakers } = tables;
  await db.delete(breakers).where(eq(breakers.workspaceId, workspaceId));
}
