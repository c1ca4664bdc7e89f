import type { ActivityEntry } from "@dispatch/wire";
import type { ActivityInput, ActivityListener } from "./types.ts";

/** Options for `ActivityLog`. */
export interface ActivityLogOptions {
  /** Entries kept for `latest` and for streams that resume; the oldest go first. */
  keep: number;
  /** Names this process in every id (`<boot>.<n>`). Default: the start time in base 36. */
  boot?: string;
  clock?: () => number;
}

/** An id split into its process and its number; undefined when it is not one of ours in shape. */
export function parseActivityId(id: string): { boot: string; n: number } | undefined {
  const match = /^([0-9a-z]{1,16})\.(\d{1,15})$/.exec(id);
  return match ? { boot: match[1]!, n: Number(match[2]) } : undefined;
}

/**
 * The host's activity feed in memory: a ring of the last `keep` entries, numbered 1, 2, 3… in this
 * process, and the listeners of live streams. O(1) per entry; `latest(k)` and `after(id)` copy at
 * most `keep` entries.
 */
export class ActivityLog {
  readonly boot: string;
  readonly #keep: number;
  readonly #clock: () => number;
  readonly #ring: ActivityEntry[] = [];
  /** Index in `#ring` of the oldest entry once it is full. */
  #start = 0;
  #next = 1;
  readonly #listeners = new Set<ActivityListener>();

  constructor(options: ActivityLogOptions) {
    if (!Number.isInteger(options.keep) || options.keep < 1) {
      throw new RangeError(`Expected \`keep\` to be an integer >= 1, got \`${options.keep}\``);
    }
    this.#keep = options.keep;
    this.#clock = options.clock ?? Date.now;
    this.boot = options.boot ?? this.#clock().toString(36);
  }

  /** The id of the newest entry, or null before the first. */
  get lastId(): string | null {
    return this.#next === 1 ? null : `${this.boot}.${this.#next - 1}`;
  }

  /** Adds an entry and tells every listener; returns it. */
  append(source: string, input: ActivityInput): ActivityEntry {
    const entry: ActivityEntry = {
      id: `${this.boot}.${this.#next++}`,
      at: new Date(this.#clock()).toISOString(),
      type: input.type,
      source,
      summary: input.summary,
      workspaceId: input.workspaceId ?? null,
      conversationId: input.conversationId ?? null,
      turnId: input.turnId ?? null,
      taskId: input.taskId ?? null,
      data: input.data ?? {},
    };
    if (this.#ring.length < this.#keep) this.#ring.push(entry);
    else {
      this.#ring[this.#start] = entry;
      this.#start = (this.#start + 1) % this.#keep;
    }
    for (const listener of [...this.#listeners]) listener(entry);
    return entry;
  }

  /** The newest `limit` entries, newest first (copies). */
  latest(limit: number): ActivityEntry[] {
    const out: ActivityEntry[] = [];
    for (let i = this.#ring.length - 1; i >= 0 && out.length < limit; i--) {
      out.push(copy(this.#ring[(this.#start + i) % this.#ring.length]!));
    }
    return out;
  }

  /**
   * The kept entries after `id`, oldest first (copies). An id of an earlier process means all of
   * them: nothing of that process is kept, so everything here is news to its reader.
   */
  after(id: { boot: string; n: number }): ActivityEntry[] {
    const from = id.boot === this.boot ? id.n : 0;
    const out: ActivityEntry[] = [];
    for (let i = 0; i < this.#ring.length; i++) {
      const entry = this.#ring[(this.#start + i) % this.#ring.length]!;
      if (numberOf(entry) > from) out.push(copy(entry));
    }
    return out;
  }

  /** Calls `listener` with every new entry until the returned function is called. */
  listen(listener: ActivityListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Live listeners, for leak checks. */
  get listenerCount(): number {
    return this.#listeners.size;
  }
}

function numberOf(entry: ActivityEntry): number {
  return Number(entry.id.slice(entry.id.indexOf(".") + 1));
}

function copy(entry: ActivityEntry): ActivityEntry {
  return { ...entry, data: structuredClone(entry.data) };
}
