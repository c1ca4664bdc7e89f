import {
  type ConversationStore,
  dialectDatabase,
  type ExtensionDatabase,
} from "@dispatch/conversation-store";
import { estimatePromptTokens } from "@dispatch/providers";
import type {
  CallUsage,
  ModelCall,
  ModelCallOutcome,
  ModelCallRefusal,
} from "@dispatch/session-orchestrator";
import type { UsageGroup, UsageQuery, UsageReport, UsageTotals } from "@dispatch/wire";
import { and, eq, gte, inArray, lt, notInArray, type SQL, sql } from "drizzle-orm";
import type { BudgetsConfig } from "./config.ts";
import { dayKey, nextDayStart } from "./day-key.ts";
import * as pgSchema from "./pg-schema.ts";
import { costOf } from "./pricing.ts";
import * as schema from "./schema.ts";

// Queries name the SQLite tables' columns for their types and `this.#t`'s tables at run time (the
// pg-core twins on Postgres): the twins have the same columns (test/schema-twins.test.ts).

/** A statement prepared once, run with its placeholders' values. */
type Prepared = (values: Record<string, unknown>) => Promise<unknown>;

/** What a prepared builder is on each dialect (the handle is typed as SQLite's; see `prepared`). */
interface PreparableBuilder {
  prepare(name?: string): {
    run?(values: Record<string, unknown>): Promise<unknown>;
    execute?(values: Record<string, unknown>): Promise<unknown>;
  };
}

/** The pg-proxy handle's `execute` (the rows, as objects), which the SQLite typing does not have. */
interface PgExecute {
  execute(query: SQL): Promise<unknown[]>;
}

/** The budgets a call can run into, by their config names. */
export type BudgetName = "perTurnTokens" | "workspaceDailyTokens" | "hostDailyTokens";

/** A call let through: what it reserved, to settle later. */
export interface Reservation {
  readonly call: ModelCall;
  /** Tokens held: the prompt's estimate plus the output reserve. */
  readonly tokens: number;
  /** The prompt's estimate alone, charged when the call read its prompt but reported nothing. */
  readonly promptTokens: number;
  readonly at: number;
  readonly day: string;
  /** The reservation row, when daily budgets are configured. */
  readonly rowId: string | undefined;
}

/** A call's usage as recorded, for metrics. */
export interface RecordedCall {
  provider: string;
  model: string;
  usage: CallUsage;
}

/** What the ledger needs. */
export interface UsageLedgerDeps {
  store: Pick<ConversationStore, "database" | "dialect" | "instanceId" | "turns" | "transaction">;
  config: BudgetsConfig;
  /** Epoch ms; the budget day is taken from it (tests move it). */
  clock: () => number;
  /** Called after each recorded call and each refusal. Must not throw. */
  observe?: { recorded?(call: RecordedCall): void; refused?(budget: BudgetName): void };
}

const hostScope = "host";
const workspaceScope = (id: string) => `workspace:${id}`;

/**
 * Usage and budgets (DESIGN §16). Before each model call `reserve` holds the call's estimate against
 * every budget that applies; after it `settle` charges what the provider reported and lets the
 * estimate go. The daily budgets are checked and reserved in one write transaction per call, so two
 * turns racing for the last tokens of a day cannot both pass: at every moment, tokens charged plus
 * tokens reserved stay within each daily budget. On Postgres, where several hosts reserve against
 * the same rows, the reservation first locks the `usage_daily` rows of the budgets it is checked
 * against (so the check and the insert after it see every other host's reservations: hosts take
 * turns per budget). The per-turn budget lives in memory: a turn's calls run one after another in
 * one process.
 */
export class UsageLedger {
  readonly #db: ExtensionDatabase<typeof schema>;
  readonly #t: typeof schema;
  readonly #deps: UsageLedgerDeps;
  /** Per running turn: tokens charged and tokens reserved by its call in flight. */
  readonly #turns = new Map<string, { used: number; reserved: number }>();
  // Prepared once: every model call settles, and building these with drizzle's query builder cost
  // more than running them (notes/benchmarks.md, hot path).
  readonly #release: Prepared;
  readonly #recordCall: Prepared;
  readonly #addDaily: Prepared;

  constructor(deps: UsageLedgerDeps) {
    this.#deps = deps;
    const { db, tables } = dialectDatabase(deps.store, { sqlite: schema, postgres: pgSchema });
    this.#db = db;
    this.#t = tables;
    const { calls, daily, reservations } = tables;
    const p = sql.placeholder;
    const prepared = (name: string, builder: unknown): Prepared => {
      // drizzle prepares a SQLite statement unnamed and runs it with `run`; a Postgres one is named
      // and runs with `execute` (the pg-proxy driver sends its SQL and parameters each time)
      const statement = (builder as PreparableBuilder).prepare(
        deps.store.dialect === "sqlite" ? undefined : name,
      );
      const run = statement.run ?? statement.execute;
      if (run === undefined) throw new Error(`drizzle statement ${name} has neither run nor execute`);
      return (values) => run.call(statement, values);
    };
    this.#release = prepared("usage_release", db.delete(reservations).where(eq(reservations.id, p("id"))));
    this.#recordCall = prepared(
      "usage_record_call",
      db.insert(calls).values({
        id: p("id"),
        turnId: p("turnId"),
        conversationId: p("conversationId"),
        workspaceId: p("workspaceId"),
        provider: p("provider"),
        model: p("model"),
        inputTokens: p("inputTokens"),
        outputTokens: p("outputTokens"),
        cachedInputTokens: p("cachedInputTokens"),
        estimated: p("estimated"),
        cost: p("cost"),
        at: p("at"),
        day: p("day"),
      }),
    );
    this.#addDaily = prepared(
      "usage_add_daily",
      db
        .insert(daily)
        .values({ scope: p("scope"), day: p("day"), tokens: p("tokens") })
        .onConflictDoUpdate({
          target: [daily.scope, daily.day],
          set: { tokens: sql`${daily.tokens} + ${p("tokens")}` },
        }),
    );
  }

  get #daily(): boolean {
    const { workspaceDailyTokens, hostDailyTokens } = this.#deps.config;
    return workspaceDailyTokens !== undefined || hostDailyTokens !== undefined;
  }

  /** Reserves a call's estimate, or refuses it naming the budget it would pass. */
  async reserve(call: ModelCall): Promise<Reservation | ModelCallRefusal> {
    const { config, clock } = this.#deps;
    const promptTokens = estimatePromptTokens(call.request);
    const tokens = promptTokens + (call.request.maxOutputTokens ?? config.outputReserveTokens);
    const at = clock();
    const day = dayKey(at, config.timeZone);
    const turn = this.#turns.get(call.turnId) ?? { used: 0, reserved: 0 };
    this.#turns.set(call.turnId, turn);
    const perTurn = config.perTurnTokens;
    if (perTurn !== undefined && turn.used + turn.reserved + tokens > perTurn) {
      return this.#refuse(
        "perTurnTokens",
        `the perTurnTokens budget (${perTurn}) would be passed: this turn has used ${turn.used} tokens and its next model call needs about ${tokens}; the turn stops here`,
      );
    }
    turn.reserved += tokens;
    if (!this.#daily) return { call, tokens, promptTokens, at, day, rowId: undefined };
    try {
      // a reservation freed between the refused insert and the read that explains it: try again
      for (let attempt = 1; ; attempt += 1) {
        const rowId = `ur_${Bun.randomUUIDv7()}`;
        if (await this.#reserveRow(rowId, call, day, tokens, at))
          return { call, tokens, promptTokens, at, day, rowId };
        const refusal = await this.#dailyRefusal(call.workspaceId, day, tokens, at);
        if (refusal !== undefined || attempt === 3) {
          turn.reserved -= tokens;
          return refusal ?? this.#refuse("hostDailyTokens", "the daily budgets are contended; try again");
        }
      }
    } catch (error) {
      turn.reserved -= tokens;
      throw error;
    }
  }

  /**
   * The check and the reservation as one conditional insert, run as one write transaction: the row
   * goes in only if today's charged tokens plus those held by calls in flight plus this call's fit
   * every daily budget. True when it went in.
   */
  async #reserveRow(
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
  async #dailyRefusal(
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
        return this.#refuse(
          budget,
          `the ${budget} budget of ${who} (${limit} tokens on ${day}, ${timeZone}) would be passed: ${used} used, ${inFlight} held by calls in flight, and this model call needs about ${tokens}; it renews at ${resets}`,
        );
      }
    }
    return undefined;
  }

  #refuse(budget: BudgetName, message: string): ModelCallRefusal {
    this.#deps.observe?.refused?.(budget);
    return { refused: { code: "budget_exceeded", message } };
  }

  /**
   * Charges a finished call: the provider's reported usage, or the prompt's estimate when it read the
   * prompt but reported nothing (cancelled, failed mid-answer); a call that never reached the model
   * costs nothing. Releases the reservation in the same transaction.
   */
  async settle(reservation: Reservation, outcome: ModelCallOutcome): Promise<void> {
    const { call } = reservation;
    const estimated = outcome.usage === undefined;
    const usage: CallUsage | undefined =
      outcome.usage ??
      (outcome.answered
        ? { inputTokens: reservation.promptTokens, outputTokens: 0, cachedInputTokens: 0 }
        : undefined);
    const charged = usage === undefined ? 0 : usage.inputTokens + usage.outputTokens;
    const turn = this.#turns.get(call.turnId);
    if (turn !== undefined) {
      turn.reserved -= reservation.tokens;
      turn.used += charged;
    }
    if (usage === undefined && reservation.rowId === undefined) return;
    const price = this.#deps.config.prices[call.providerId]?.[call.model];
    const { rowId, day } = reservation;
    // one write: the charge and the release together, or neither
    await this.#deps.store.transaction(async () => {
      if (rowId !== undefined) await this.#release({ id: rowId });
      if (usage === undefined) return;
      await this.#recordCall({
        id: `uc_${Bun.randomUUIDv7()}`,
        turnId: call.turnId,
        conversationId: call.conversationId,
        workspaceId: call.workspaceId,
        provider: call.providerId,
        model: call.model,
        inputTokens: usage.inputTokens,
        outputTokens: usage.outputTokens,
        cachedInputTokens: usage.cachedInputTokens,
        estimated,
        cost: costOf(usage, price),
        at: reservation.at,
        day,
      });
      for (const scope of [hostScope, workspaceScope(call.workspaceId)]) {
        await this.#addDaily({ scope, day, tokens: charged });
      }
    });
    if (usage !== undefined) {
      this.#deps.observe?.recorded?.({ provider: call.providerId, model: call.model, usage });
    }
  }

  /** Forgets a finished turn and lets go of any reservation it still holds (a call abandoned unsettled). */
  async forgetTurn(turnId: string): Promise<void> {
    const { reservations } = this.#t;
    this.#turns.delete(turnId);
    if (this.#daily) await this.#db.delete(reservations).where(eq(reservations.turnId, turnId));
  }

  /** Drops the reservations of a dead host's calls (they will never settle). Returns how many. */
  async releaseInstance(instanceId: string): Promise<number> {
    const { reservations } = this.#t;
    const dropped = await this.#db
      .delete(reservations)
      .where(eq(reservations.instanceId, instanceId))
      .returning({ id: reservations.id });
    return dropped.length;
  }

  /** At start: drops reservations of turns that are no longer running (left by a crash). Returns how many. */
  async dropStaleReservations(): Promise<number> {
    const { reservations } = this.#t;
    const running = (await this.#deps.store.turns.listUnfinished()).map((t) => t.id);
    const stale = await this.#db
      .select({ id: reservations.id })
      .from(reservations)
      .where(running.length === 0 ? undefined : notInArray(reservations.turnId, running));
    if (stale.length === 0) return 0;
    await this.#db.delete(reservations).where(
      inArray(
        reservations.id,
        stale.map((r) => r.id),
      ),
    );
    return stale.length;
  }

  /** `GET /usage`: sums of the recorded calls, grouped. */
  async report(query: UsageQuery): Promise<UsageReport> {
    const { calls } = this.#t;
    const from = query.from === undefined ? undefined : Date.parse(query.from);
    const to = query.to === undefined ? undefined : Date.parse(query.to);
    const conditions: SQL[] = [];
    if (query.workspaceId !== undefined) conditions.push(eq(calls.workspaceId, query.workspaceId));
    if (from !== undefined) conditions.push(gte(calls.at, from));
    if (to !== undefined) conditions.push(lt(calls.at, to));
    const where = and(...conditions);
    const sums = {
      calls: sql<number>`count(*)`,
      inputTokens: sql<number>`coalesce(sum(${calls.inputTokens}), 0)`,
      outputTokens: sql<number>`coalesce(sum(${calls.outputTokens}), 0)`,
      cachedInputTokens: sql<number>`coalesce(sum(${calls.cachedInputTokens}), 0)`,
      cost: sql<number | null>`sum(${calls.cost})`,
      unpricedCalls: sql<number>`coalesce(sum(case when ${calls.cost} is null then 1 else 0 end), 0)`,
    };
    const [total] = await this.#db.select(sums).from(calls).where(where);
    let groups: UsageGroup[];
    if (query.groupBy === "day") {
      const rows = await this.#db
        .select({ day: calls.day, ...sums })
        .from(calls)
        .where(where)
        .groupBy(calls.day)
        .orderBy(calls.day);
      groups = rows.map(({ day, ...rest }) => ({ day, ...totalsOf(rest) }));
    } else if (query.groupBy === "conversation") {
      const rows = await this.#db
        .select({ conversationId: calls.conversationId, workspaceId: calls.workspaceId, ...sums })
        .from(calls)
        .where(where)
        .groupBy(calls.conversationId, calls.workspaceId);
      groups = rows.map(({ conversationId, workspaceId, ...rest }) => ({
        conversationId,
        workspaceId,
        ...totalsOf(rest),
      }));
    } else {
      const rows = await this.#db
        .select({ provider: calls.provider, model: calls.model, ...sums })
        .from(calls)
        .where(where)
        .groupBy(calls.provider, calls.model);
      groups = rows.map(({ provider, model, ...rest }) => ({ provider, model, ...totalsOf(rest) }));
    }
    if (query.groupBy !== "day") {
      groups.sort((a, b) => b.totalTokens - a.totalTokens || keyOf(a).localeCompare(keyOf(b)));
    }
    return {
      workspaceId: query.workspaceId ?? null,
      from: from === undefined ? null : new Date(from).toISOString(),
      to: to === undefined ? null : new Date(to).toISOString(),
      groupBy: query.groupBy,
      timeZone: this.#deps.config.timeZone,
      groups,
      total: totalsOf(total ?? {}),
    };
  }
}

function totalsOf(row: {
  calls?: unknown;
  inputTokens?: unknown;
  outputTokens?: unknown;
  cachedInputTokens?: unknown;
  cost?: unknown;
  unpricedCalls?: unknown;
}): UsageTotals {
  const n = (value: unknown) => Number(value ?? 0);
  const inputTokens = n(row.inputTokens);
  const outputTokens = n(row.outputTokens);
  return {
    calls: n(row.calls),
    inputTokens,
    outputTokens,
    cachedInputTokens: n(row.cachedInputTokens),
    totalTokens: inputTokens + outputTokens,
    cost: row.cost === null || row.cost === undefined ? null : Number(row.cost),
    unpricedCalls: n(row.unpricedCalls),
  };
}

function keyOf(group: UsageGroup): string {
  return group.conversationId ?? `${group.provider ?? ""}/${group.model ?? ""}`;
}
