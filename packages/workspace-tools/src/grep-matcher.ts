import { DispatchError } from "@dispatch/kernel";
import type { GrepFile, GrepReply, GrepRequest } from "./grep-protocol.ts";

/** What one grep call's matcher is built with. */
export interface GrepMatcherOptions {
  pattern: string;
  flags: string;
  maxLineChars: number;
  /** Total time the worker may spend matching during the call; past it the worker is terminated. */
  timeLimitMs: number;
  /** Cancels the call: the worker is terminated at once. */
  signal: AbortSignal;
}

/**
 * Runs one grep call's regular expression in its own Bun Worker, so the host's event loop never
 * runs a pattern. The matcher owns the worker and the time-limit timer: `dispose()` (always called
 * by the grep tool) terminates the worker, and a timeout or cancel terminates it at once and
 * rejects the pending `match` with `grep_timeout` or `cancelled`.
 */
export class GrepMatcher {
  readonly #options: GrepMatcherOptions;
  #worker: Worker | undefined;
  #budgetMs: number;
  #pending: { reject(error: DispatchError): void } | undefined;
  readonly #onAbort = () => this.#stop(new DispatchError("cancelled", "grep was cancelled"));

  constructor(options: GrepMatcherOptions) {
    this.#options = options;
    this.#budgetMs = options.timeLimitMs;
    options.signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** The matching lines of `files`, at most `maxMatches`. */
  match(files: GrepFile[], maxMatches: number): Promise<string[]> {
    if (this.#options.signal.aborted)
      return Promise.reject(new DispatchError("cancelled", "grep was cancelled"));
    if (this.#budgetMs <= 0) return Promise.reject(this.#timeoutError());
    this.#worker ??= new Worker(new URL("./grep-worker.ts", import.meta.url));
    const worker = this.#worker;
    const request: GrepRequest = {
      pattern: this.#options.pattern,
      flags: this.#options.flags,
      maxLineChars: this.#options.maxLineChars,
      maxMatches,
      files,
    };
    return new Promise<string[]>((resolve, reject) => {
      const began = performance.now();
      const timer = setTimeout(() => this.#stop(this.#timeoutError()), this.#budgetMs);
      const settle = () => {
        clearTimeout(timer);
        this.#budgetMs -= performance.now() - began;
        this.#pending = undefined;
        worker.onmessage = null;
        worker.onerror = null;
      };
      this.#pending = {
        reject: (error) => {
          settle();
          reject(error);
        },
      };
      worker.onmessage = (event: MessageEvent<GrepReply>) => {
        settle();
        const reply = event.data;
        if (reply.ok) resolve(reply.matches);
        else reject(new DispatchError("invalid_request", `grep failed: ${reply.message}`));
      };
      worker.onerror = (event: ErrorEvent) => {
        settle();
        this.#terminate();
        reject(new DispatchError("io_error", `grep's worker failed: ${event.message}`));
      };
      worker.postMessage(request);
    });
  }

  /** Terminates the worker (if any) and stops listening for cancel. Idempotent. */
  dispose(): void {
    this.#options.signal.removeEventListener("abort", this.#onAbort);
    this.#terminate();
  }

  #timeoutError(): DispatchError {
    return new DispatchError(
      "grep_timeout",
      `grep stopped: matching took longer than its time limit of ${this.#options.timeLimitMs} ms. ` +
        "The pattern may backtrack catastrophically (nested quantifiers such as (a+)+); " +
        "simplify the pattern, or narrow the path or glob.",
      { details: { timeLimitMs: this.#options.timeLimitMs } },
    );
  }

  #stop(error: DispatchError): void {
    // Terminate first: the worker may be stuck in a pattern and must not run on.
    this.#terminate();
    this.#pending?.reject(error);
  }

  #terminate(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
  }
}
