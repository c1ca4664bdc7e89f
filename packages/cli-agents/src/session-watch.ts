import type { PaneCapture } from "./pane-capture.ts";

/** What the ticks tell the turn watching a session. */
export type WatchSignal =
  /** The screen changed; `lines` are the lines completed since the last output (`skipped` scrolled past unread). */
  | { kind: "output"; capture: PaneCapture; lines: string[]; skipped: number }
  /** The screen has been unchanged for the agent's `idleMs`, as asked by `expectQuiet`. */
  | { kind: "quiet" }
  /** The agent's process ended (the pane is dead). */
  | { kind: "exited"; exitStatus: number | null; signal: number | null }
  /** A crash pattern appeared in new screen lines. */
  | { kind: "crashed"; pattern: string }
  /** The tmux session is gone (killed outside Dispatch, or its server died). */
  | { kind: "gone" }
  /** The time asked for with `wakeAt` has come (respawn backoff). */
  | { kind: "due" };

/**
 * The mailbox between the ticks and the one turn watching a session. The ticks post (never wait);
 * the turn takes signals one at a time. Consecutive outputs are merged, so the mailbox holds at most
 * one signal of each kind a tick can post in a row: it cannot grow while the turn is slow to emit.
 */
export class SessionWatch {
  readonly #queue: WatchSignal[] = [];
  #wake: (() => void) | undefined;
  /** Set by the turn: post `quiet` once the screen has been still long enough (after a change, if `afterChange`). */
  expectQuiet: { afterChange: boolean; changed: boolean } | undefined;
  /** Set by the turn: post `due` at this time (epoch ms). */
  wakeAt: number | undefined;

  /** Queues a signal for the turn. Must not throw. */
  post(signal: WatchSignal): void {
    const last = this.#queue.at(-1);
    if (signal.kind === "output" && last?.kind === "output") {
      this.#queue[this.#queue.length - 1] = {
        kind: "output",
        capture: signal.capture,
        lines: [...last.lines, ...signal.lines],
        skipped: last.skipped + signal.skipped,
      };
    } else this.#queue.push(signal);
    this.#wake?.();
  }

  /** Asks for `quiet`; `afterChange` requires a screen change first (new output after input). */
  awaitQuiet(afterChange: boolean): void {
    this.expectQuiet = { afterChange, changed: false };
  }

  /** The next signal; rejects with the signal's reason when `abort` fires first. */
  async next(abort: AbortSignal): Promise<WatchSignal> {
    for (;;) {
      const signal = this.#queue.shift();
      if (signal !== undefined) return signal;
      abort.throwIfAborted();
      await new Promise<void>((resolve) => {
        const done = () => {
          abort.removeEventListener("abort", done);
          this.#wake = undefined;
          resolve();
        };
        this.#wake = done;
        abort.addEventListener("abort", done, { once: true });
      });
    }
  }

  /** Signals waiting to be taken (for tests). */
  get pending(): number {
    return this.#queue.length;
  }
}
