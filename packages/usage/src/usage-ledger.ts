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
import type { UsageQuery, UsageReport } from "@dispatch/wire";
import { eq, inArray, notInArray } from "drizzle-orm";
import { type BudgetName, hostScope, workspaceScope } from "./budgets.ts";
import type { BudgetsConfig } from "./config.ts";
import { DailyReservations } from "./daily-reservations.ts";
import { dayKey } from "./day-key.ts";
import { type LedgerStatements, prepareLedgerStatements } from "./ledger-statements.ts";
import * as pgSchema from "./pg-schema.ts";
import { costOf } from "./pricing.ts";
import * as schema from "./schema.ts";
import { type DailyCharge, SettleBatch, type SettleWrite } from "./settle-batch.ts";
import { usageReport } from "./usage-report.ts";

// Queries name the SQLite tables' columns for their types and `this.#t`'s tables at run time (the
// pg-core twins on Postgres): the twins have the same columns (test/schema-twins.test.ts).

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
  store: Pick<ConversationStore, "database" | "dialect" | "instanceId" | "turns" | "transaction" | "grouped">;
  config: BudgetsConfig;
  /** Epoch ms; the budget day is taken from it (tests move it). */
  clock: () => number;
  /** Called after each recorded call and each refusal. Must not throw. */
  observe?: { recorded?(call: RecordedCall): void; refused?(budget: BudgetName): void };
}

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
  readonly #statements: LedgerStatements;
  readonly #settles: Pick<SettleBatch, "settle">;
  /**
   * Whether a settle's writes are queued in the store's group commit before `settle` returns (SQLite),
   * so a turn need not wait for them (`ModelCallPass.groupedSettle`).
   */
  readonly groupedSettles: boolean;
  readonly #dailyReservations: DailyReservations;

  constructor(deps: UsageLedgerDeps) {
    this.#deps = deps;
    const { db, tables } = dialectDatabase(deps.store, { sqlite: schema, postgres: pgSchema });
    this.#db = db;
    this.#t = tables;
    this.#statements = prepareLedgerStatements(db, tables, deps.store.dialect);
    // On SQLite (one writer, nothing to deadlock) each settle joins the store's group commit; on
    // Postgres a batch is a transaction of its own, its daily rows locked in one order for every host.
    this.groupedSettles = deps.store.dialect === "sqlite";
    this.#settles = this.groupedSettles
      ? { settle: (write) => deps.store.grouped(() => this.#storeSettles([write], write.daily)) }
      : new SettleBatch((writes, daily) => deps.store.transaction(() => this.#storeSettles(writes, daily)));
    this.#dailyReservations = new DailyReservations({
      db,
      tables,
      store: deps.store,
      config: deps.config,
      refuse: (budget, message) => this.#refuse(budget, message),
    });
  }

  async #storeSettles(writes: readonly SettleWrite[], daily: readonly DailyCharge[]): Promise<void> {
    const { release, recordCall, addDaily } = this.#statements;
    for (const write of writes) {
      if (write.release !== undefined) await release({ id: write.release });
      if (write.call !== undefined) await recordCall(write.call);
    }
    for (const charge of daily) await addDaily({ ...charge });
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
        if (await this.#dailyReservations.reserveRow(rowId, call, day, tokens, at))
          return { call, tokens, promptTokens, at, day, rowId };
        const refusal = await this.#dailyReservations.dailyRefusal(call.workspaceId, day, tokens, at);
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
    const callRow =
      usage === undefined
        ? undefined
        : {
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
          };
    // one write with the other calls settled in this loop turn: the charge and the release together,
    // or neither
    await this.#settles.settle({
      ...(rowId === undefined ? {} : { release: rowId }),
      ...(callRow === undefined ? {} : { call: callRow }),
      daily:
        callRow === undefined
          ? []
          : [hostScope, workspaceScope(call.workspaceId)].map((scope) => ({ scope, day, tokens: charged })),
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
  report(query: UsageQuery): Promise<UsageReport> {
    return usageReport(this.#db, this.#t, this.#deps.config.timeZone, query);
  }
}
