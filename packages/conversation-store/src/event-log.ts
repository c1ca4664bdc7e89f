import type { Statement } from "bun:sqlite";
import type { ConversationEvent } from "@dispatch/wire";
import { limits } from "@dispatch/wire";
import { checkInteger, checkText, serializePayload } from "./field-checks.ts";
import type { StoreDatabase } from "./store-database.ts";
import { invalidField, notFound, sqliteCode } from "./store-error.ts";
import type { EventLog, NewEvent } from "./types.ts";

/** Page size of `listAfter` when none is given, and the largest one accepted. */
export const eventPage = { default: 1000, max: 10_000 } as const;

const maxEventTypeLength = 200;
// Conversations whose last seq the log remembers at once (an entry is ~100 bytes).
const maxRememberedSeqs = 10_000;

/** An event that passed `checkEvent`, with its payload already serialised. */
export interface Checked {
  type: string;
  turnId: string | null;
  data: Record<string, unknown>;
  json: string;
}

/** Validates one event for the log (type, turn id, payload size) and serialises its payload. */
export function checkEvent(event: NewEvent, maxPayloadBytes: number): Checked {
  if (typeof event !== "object" || event === null) throw invalidField("event", "must be an object");
  const type = checkText("type", event.type, { min: 1, max: maxEventTypeLength });
  const turnId = event.turnId ?? null;
  if (turnId !== null && typeof turnId !== "string") throw invalidField("turnId", "must be a string or null");
  const json = serializePayload("data", event.data, maxPayloadBytes);
  return { type, turnId, data: event.data, json };
}

/**
 * The event log in SQLite. The next `seq` is read and the rows inserted in one IMMEDIATE transaction,
 * so concurrent appenders (in this process or another) can neither skip nor repeat a number. Statements
 * are prepared once: appends are the hottest path in the store.
 */
export class SqliteEventLog implements EventLog {
  readonly #db: StoreDatabase;
  readonly #maxPayloadBytes: number;
  readonly #onAppended: ((count: number) => void) | undefined;
  readonly #insert: Statement<unknown, [string, number, string, string | null, number, string]>;
  readonly #last: Statement<{ seq: number | null }, [string]>;
  readonly #lastSeqs = new Map<string, number>();
  #epoch = "";
  readonly #after: Statement<[number, string, string | null, number, string], [string, number, number]>;

  constructor(
    db: StoreDatabase,
    options: { maxPayloadBytes?: number; onAppended?: (count: number) => void } = {},
  ) {
    this.#db = db;
    this.#maxPayloadBytes = options.maxPayloadBytes ?? limits.eventPayloadBytes;
    this.#onAppended = options.onAppended;
    // Hand-written SQL on prepared bun:sqlite statements: appends and reads are the store's hot path, and
    // drizzle's per-call placeholder filling and row mapping cost a third of the throughput here. The
    // statements are checked against the schema by the tests (every append and read goes through them).
    this.#insert = db.sqlite.prepare<unknown, [string, number, string, string | null, number, string]>(
      "INSERT INTO events (conversation_id, seq, type, turn_id, at, data) VALUES (?, ?, ?, ?, ?, ?)",
    );
    this.#last = db.sqlite.prepare<{ seq: number | null }, [string]>(
      "SELECT max(seq) AS seq FROM events WHERE conversation_id = ?",
    );
    this.#after = db.sqlite.prepare<
      [number, string, string | null, number, string],
      [string, number, number]
    >(
      "SELECT seq, type, turn_id, at, data FROM events WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?",
    );
  }

  async append(conversationId: string, event: NewEvent): Promise<ConversationEvent> {
    const [appended] = this.#appendChecked(conversationId, [checkEvent(event, this.#maxPayloadBytes)]);
    return appended as ConversationEvent;
  }

  async appendMany(conversationId: string, batch: readonly NewEvent[]): Promise<ConversationEvent[]> {
    if (!Array.isArray(batch)) throw invalidField("events", "must be an array");
    if (batch.length === 0) return [];
    const checked = batch.map((event) => checkEvent(event, this.#maxPayloadBytes));
    return this.#appendChecked(conversationId, checked);
  }

  async listAfter(
    conversationId: string,
    afterSeq: number,
    limit: number = eventPage.default,
  ): Promise<ConversationEvent[]> {
    checkInteger("afterSeq", afterSeq, { min: 0 });
    checkInteger("limit", limit, { min: 1, max: eventPage.max });
    const rows = this.#db.read(() => this.#after.values(conversationId, afterSeq, limit));
    const out: ConversationEvent[] = new Array(rows.length);
    // Events of one batch share their `at`; rendering each distinct time once saves most Date work.
    let lastAt = Number.NaN;
    let lastIso = "";
    for (let i = 0; i < rows.length; i++) {
      const [seq, type, turnId, at, data] = rows[i] as [number, string, string | null, number, string];
      if (at !== lastAt) {
        lastAt = at;
        lastIso = new Date(at).toISOString();
      }
      out[i] = { seq, type, turnId, at: lastIso, data: JSON.parse(data) as Record<string, unknown> };
    }
    return out;
  }

  /**
   * The conversation's last seq, inside a write: remembered from this log's last append while the
   * store's writer epoch is unchanged (no other connection has committed, nothing of ours was rolled
   * back), else read. Saves the read on most appends of a streaming turn. It assumes this log is the
   * only writer of `events` on its connection, as `openConversationStore` makes it.
   */
  #lastSeqOf(conversationId: string): number {
    const epoch = this.#db.writerEpoch();
    // bounded: one entry per conversation appended to since the last change of epoch
    if (epoch !== this.#epoch || this.#lastSeqs.size >= maxRememberedSeqs) {
      this.#lastSeqs.clear();
      this.#epoch = epoch;
    }
    return this.#lastSeqs.get(conversationId) ?? this.#last.get(conversationId)?.seq ?? 0;
  }

  /** 0 for a conversation with no events (or none at all). */
  async lastSeq(conversationId: string): Promise<number> {
    return this.#db.read(() => this.#last.get(conversationId)?.seq ?? 0);
  }

  #appendChecked(conversationId: string, checked: readonly Checked[]): ConversationEvent[] {
    let appended: ConversationEvent[];
    try {
      const write = () => {
        const at = this.#db.now();
        const iso = new Date(at).toISOString();
        let seq = this.#lastSeqOf(conversationId);
        const out: ConversationEvent[] = new Array(checked.length);
        for (let i = 0; i < checked.length; i++) {
          const e = checked[i] as Checked;
          seq += 1;
          this.#insert.run(conversationId, seq, e.type, e.turnId, at, e.json);
          out[i] = { seq, type: e.type, turnId: e.turnId, at: iso, data: e.data };
        }
        this.#lastSeqs.set(conversationId, seq);
        return out;
      };
      appended = this.#db.write(write, { oneChange: checked.length === 1 });
    } catch (error) {
      if (sqliteCode(error) === "SQLITE_CONSTRAINT_FOREIGNKEY")
        throw notFound("conversation", conversationId);
      throw error;
    }
    this.#onAppended?.(appended.length);
    return appended;
  }
}
