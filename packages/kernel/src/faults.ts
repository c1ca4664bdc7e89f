import type { Logger } from "./logger.ts";
import type { Registry } from "./metrics.ts";
import { Counter } from "./metrics.ts";

/** Counts errors that escaped their owner: extension handlers and timers, and process-level faults. */
export class FaultCounter {
  readonly #bySource = new Map<string, number>();
  readonly #counter: Counter<"source" | "kind">;
  readonly #logger: Logger;
  #listeners = new Set<(source: string, total: number) => void>();

  constructor(registry: Registry, logger: Logger) {
    this.#logger = logger;
    this.#counter = new Counter({
      name: "dispatch_faults_total",
      help: "Errors caught outside their owner, by source (extension id or process) and kind",
      labelNames: ["source", "kind"],
      registers: [registry],
    });
  }

  /** Records one fault; `source` is an extension id or `process`. Logs it with its stack. */
  record(source: string, kind: string, error: unknown): void {
    this.#bySource.set(source, (this.#bySource.get(source) ?? 0) + 1);
    this.#counter.inc({ source, kind });
    this.#logger.error(`fault caught (${kind})`, { source, kind, err: error });
    const total = this.total();
    for (const listener of this.#listeners) listener(source, total);
  }

  /** Faults attributed to one source. */
  count(source: string): number {
    return this.#bySource.get(source) ?? 0;
  }

  /** All faults so far. */
  total(): number {
    let sum = 0;
    for (const n of this.#bySource.values()) sum += n;
    return sum;
  }

  /** Faults by source, for /health. */
  bySource(): Record<string, number> {
    return Object.fromEntries(this.#bySource);
  }

  /** Calls `listener` after each fault; returns the unsubscribe function. */
  onFault(listener: (source: string, total: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
