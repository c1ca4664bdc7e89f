import type { ConversationStore, ExtensionDatabase } from "@dispatch/conversation-store";
import type { ModelCall, ModelCallRefusal } from "@dispatch/session-orchestrator";
import { and, eq, type SQL, sql } from "drizzle-orm";
import { type BudgetName, hostScope, workspaceScope } from "./budgets.ts";
import type { BudgetsConfig } from "./config.ts";
import { nextDayStart } from "./day-key.ts";
import type * as schema from "./schema.ts";

// Queries name the SQLite tables' columns for their types and `this.#t`'s tables at run time (the
// pg-core twins on Postgres): the twins have the same columns (test/schema-twins.test.ts).

/** The pg-proxy handle's `execute` (the rows, as objects), which the SQLite typing does not have. */
interface PgExecute {
  execute(query: SQL): Promise<unknown[]>;
}

/** What the daily reservations need: the ledger's handle and tables, and how it refuses. */
export interface DailyReservationsDeps {
  db: ExtensionDatabase<typeof schema>;
  tables: typeof schema;
  store: Pick<ConversationStore, "dialect" | "instanceId" | "transaction">;
  config: BudgetsConfig;
  /** The ledger's refusal, which also tells its observer. */
  refuse(budget: BudgetName, message: string): ModelCallRefusal;
}

/**
 * The daily budgets' side of a reservation: the check and the `usage_reservations` row as one write,
 * and the reason when a call does not fit.
 */
export class DailyReservations {
  readonly #db: ExtensionDatabase<typeof schema>;
  readonly #t: typeof schema;
  readonly #deps: DailyReservationsDeps;

  constructor(deps: DailyReservationsDeps) {
    this.#deps = deps;
    this.#db = deps.db;
    this.#t = deps.tables;
  }

  /**
   * The check and the reservation as one conditional insert, run as one write transaction: the row
   * goes in only if today's charged tokens plus those held by calls in flight plus this call's fit
   * every daily budget. True when it went in.
   */
  async reserveRow(
    rowId: string,
    call: ModelCall,
    day: string,
    tokens: number,
    at: number,
  ): Promise<boolean> {
    const { workspaceDailyTokens, hostDailyTokens } = this.#deps.config;
    const { daily, reservations } = this.#t;
    const postgres = this.#deps.store.dialect === "postgres";
    // Postgres infers a parameter's type from where it stands; in a select list it would be text
    const typed = (value: number, type: "integer" | "bigint") =>
      postgres ? sql`${value}::${sql.raw(type)}` : sql`${value}`;
    const fits = (scope: string, limit: number, held: SQL | undefined) =>
      sql`(select coalesce(sum(${daily.tokens}), 0) from ${daily} where ${daily.scope} = ${scope} and ${daily.day} = ${day})
        + (select coalesce(sum(${reservations.tokens}), 0) from ${reservations} where ${reservations.day} = ${day}${held ?? sql``})
        + ${typed(tokens, "bigint")} <= ${typed(limit, "bigint")}`;
    const conditions: SQL[] = [];
    if (workspaceDailyTokens !== undefined) {
      conditions.push(
        fits(
          workspaceScope(call.workspaceId),
          workspaceDailyTokens,
          sql` and ${reservations.workspaceId} = ${call.workspaceId}`,
        ),
      );
    }
    if (hostDailyTokens !== undefined) conditions.push(fits(hostScope, hostDailyTokens, undefined));
    const insert = sql`insert into ${reservations} (id, turn_id, workspace_id, day, tokens, created_at, instance_id)
        select ${rowId}, ${call.turnId}, ${call.workspaceId}, ${day}, ${typed(tokens, "integer")}, ${typed(at, "bigint")}, ${this.#deps.store.instanceId}
        where ${sql.join(conditions, sql` and `)}
        returning id`;
    if (!postgres) {
      // one write transaction: SQLite has one writer, so nothing changes between the check and the insert
      const [rows] = await this.#db.batch([this.#db.all<{ id: string }>(insert)]);
      return rows.length === 1;
    }
    // PostgreSQL runs other hosts' statements at the same time, and a statement sees what was
    // committed when it began: so first lock the budgets' rows (created at 0 when missing; host
    // before workspace, the order `settle` charges them in, so two transactions never wait on each
    // other in a circle), then check and insert in a statement that begins once the lock is held.
    // Every host's reservation against these budgets waits here until this one commits.
    const scopes = [
      ...(hostDailyTokens === undefined ? [] : [hostScope]),
      ...(workspaceDailyTokens === undefined ? [] : [workspaceScope(call.workspaceId)]),
    ];
    const pg = this.#db as unknown as PgExecute;
    return this.#deps.store.transaction(async () => {
      await pg.execute(sql`insert into ${daily} (scope, day, tokens)
        values ${sql.join(
          scopes.map((scope) => sql`(${scope}, ${day}, 0)`),
          sql`, `,
        )}
        on conflict (scope, day) do update set tokens = ${daily}.tokens`);
      return (await pg.execute(insert)).length === 1;
    });
  }

  /** Why a call was refused: the first daily budget it does not fit (read after the refused insert). */
  async dailyRefusal(
    workspaceId: string,
    day: string,
    tokens: number,
    at: number,
  ): Promise<ModelCallRefusal | undefined> {
    const { daily, reservations } = this.#t;
    const { workspaceDailyTokens, hostDailyTokens, timeZone } = this.#deps.config;
    const resets = new Date(nextDayStart(at, timeZone)).toISOString();
    const checks: Array<{ budget: BudgetName; limit: number | undefined; scope: string; who: string }> = [
      {
        budget: "workspaceDailyTokens",
        limit: workspaceDailyTokens,
        scope: workspaceScope(workspaceId),
        who: `workspace "${workspaceId}"`,
      },
      {
        budget: "hostDailyTokens",
        limit: hostDailyTokens,
        scope: hostScope,
        // on Postgres every host charges the one `host` row: the budget is the cluster's
        who: this.#deps.store.dialect === "postgres" ? "all hosts sharing the database" : "this host",
      },
    ];
    for (const { budget, limit, scope, who } of checks) {
      if (limit === undefined) continue;
      const [row] = await this.#db
        .select({ tokens: daily.tokens })
        .from(daily)
        .where(and(eq(daily.scope, scope), eq(daily.day, day)));
      const used = row?.tokens ?? 0;
      const held = and(
        eq(reservations.day, day),
        scope === hostScope ? undefined : eq(reservations.workspaceId, workspaceId),
      );
      const [reserved] = await this.#db
        .select({ tokens: sql<number>`coalesce(sum(${reservations.tokens}), 0)` })
        .from(reservations)
        .where(held);
      const inFlight = Number(reserved?.tokens ?? 0);
      if (used + inFlight + tokens > limit) {
        return this.#deps.refuse(
          budget,
          `the ${budget} budget of ${who} (${limit} tokens on ${day}, ${timeZone}) would be passed: ${used} used, ${inFlight} held by calls in flight, and this model call needs about ${tokens}; it renews at ${resets}`,
        );
      }
    }
    return undefined;
  }
}
