import type { StreamingProvider } from "../src/wrap-provider-with-concurrency.ts";

type Item = { kind: "part"; value: string } | { kind: "end" } | { kind: "error"; error: unknown };

/** One model call of a `ControllableProvider`; the test decides when it yields, ends or throws. */
export class ControllableCall {
  readonly request: string;
  readonly signal: AbortSignal;
  /** The provider's own cleanup ran (its generator's `finally`). */
  cleanedUp = false;
  readonly #items: Item[] = [];
  #wake: (() => void) | undefined;
  readonly #honoursSignal: boolean;

  constructor(request: string, signal: AbortSignal, honoursSignal: boolean) {
    this.request = request;
    this.signal = signal;
    this.#honoursSignal = honoursSignal;
    if (honoursSignal) signal.addEventListener("abort", () => this.#wake?.(), { once: true });
  }

  /** Makes the stream yield `value`. */
  emit(value: string): void {
    this.#push({ kind: "part", value });
  }

  /** Makes the stream end normally. */
  end(): void {
    this.#push({ kind: "end" });
  }

  /** Makes the stream throw `error`. */
  fail(error: unknown): void {
    this.#push({ kind: "error", error });
  }

  async *stream(): AsyncGenerator<string, void, undefined> {
    try {
      for (;;) {
        const item = await this.#take();
        if (item.kind === "end") return;
        if (item.kind === "error") throw item.error;
        yield item.value;
      }
    } finally {
      this.cleanedUp = true;
    }
  }

  #push(item: Item): void {
    this.#items.push(item);
    this.#wake?.();
  }

  async #take(): Promise<Item> {
    for (;;) {
      // Like fetch and the AI SDK: its own AbortError, not the signal's reason.
      if (this.#honoursSignal && this.signal.aborted)
        throw new DOMException("This operation was aborted", "AbortError");
      const item = this.#items.shift();
      if (item !== undefined) return item;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }
}

/**
 * A provider whose calls are driven by the test. With `honoursSignal: false` it ignores its abort
 * signal entirely, like a misbehaving SDK, so the wrapper's own abort handling is what is tested.
 */
export class ControllableProvider implements StreamingProvider<string, string> {
  readonly calls: ControllableCall[] = [];
  /** Calls by request, for drivers that make many calls (`calls` keeps every one). */
  readonly byRequest = new Map<string, ControllableCall>();
  readonly #keepAll: boolean;
  readonly #honoursSignal: boolean;

  constructor(options: { honoursSignal?: boolean; keepAll?: boolean } = {}) {
    this.#honoursSignal = options.honoursSignal ?? true;
    this.#keepAll = options.keepAll ?? true;
  }

  stream(request: string, signal: AbortSignal): AsyncIterable<string> {
    const call = new ControllableCall(request, signal, this.#honoursSignal);
    if (this.#keepAll) this.calls.push(call);
    this.byRequest.set(request, call);
    return call.stream();
  }

  /** The most recent call, which must exist. */
  get last(): ControllableCall {
    const call = this.calls.at(-1);
    if (call === undefined) throw new Error("the provider was not called");
    return call;
  }
}
