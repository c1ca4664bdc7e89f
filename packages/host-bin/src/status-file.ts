import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** What `<dataDir>/status.json` holds; supervisors and operators read it without asking the server. */
export interface StatusSnapshot {
  pid: number;
  version: string;
  state: "running" | "stopped" | "crashed";
  startedAt: string;
  /** Rewritten on every write; a stale heartbeat with state "running" means the process died hard. */
  heartbeat: string;
  stoppedAt?: string;
  /** Why the host crashed, when it did. */
  reason?: string;
  exitCode?: number;
  activeConversations: number;
  faults: number;
  memory: { rss: number; heapUsed: number };
}

/** Options for `StatusFile`. */
export interface StatusFileOptions {
  dataDir: string;
  version: string;
  startedAt: Date;
  /** Turns in progress now (0 when no orchestrator runs). */
  activeConversations(): number;
  /** Faults recorded so far. */
  faults(): number;
  /** Called when a periodic write fails (the host keeps running). */
  onError?(error: Error): void;
}

/**
 * Owns `<dataDir>/status.json` and its refresh timer. Every write goes to a temp file that is renamed
 * over the old one, so a reader never sees a half-written file. Writes are synchronous: the file is
 * small, and the last write must land even while the process is exiting.
 */
export class StatusFile {
  readonly path: string;
  readonly #options: StatusFileOptions;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: StatusFileOptions) {
    this.#options = options;
    this.path = join(options.dataDir, "status.json");
  }

  /** Writes "running" now and every `intervalMs` until `stop` (the timer keeps a serving process alive). */
  start(intervalMs: number): void {
    this.write({ state: "running" });
    this.#timer ??= setInterval(() => {
      const error = this.write({ state: "running" });
      if (error) this.#options.onError?.(error);
    }, intervalMs);
  }

  /** Stops the refresh timer; the caller writes the final state. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Writes a snapshot atomically; never throws (a full disk must not crash the host), returns the error. */
  write(update: Pick<StatusSnapshot, "state"> & Partial<StatusSnapshot>): Error | undefined {
    const memory = process.memoryUsage();
    const snapshot: StatusSnapshot = {
      pid: process.pid,
      version: this.#options.version,
      startedAt: this.#options.startedAt.toISOString(),
      heartbeat: new Date().toISOString(),
      activeConversations: safe(this.#options.activeConversations),
      faults: safe(this.#options.faults),
      memory: { rss: memory.rss, heapUsed: memory.heapUsed },
      ...update,
    };
    const temp = `${this.path}.${process.pid}.tmp`;
    try {
      writeFileSync(temp, `${JSON.stringify(snapshot, null, 2)}\n`);
      renameSync(temp, this.path);
      return undefined;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }
}

function safe(read: () => number): number {
  try {
    return read();
  } catch {
    return 0;
  }
}
