import { DispatchError } from "@dispatch/kernel";
import type { OutputChunk, OutputStream } from "./execution-session.ts";

/** Output held for a consumer that is not reading, unless the caller says otherwise. */
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;

/** How the buffer holds back its source when full; both must be safe to call at any time. */
export interface OutputFlow {
  /** Stop reading the process's pipes (or channel). */
  pause(): void;
  /** Read them again. */
  resume(): void;
}

/** A reader waiting for the next chunk. */
interface Waiter {
  resolve(result: IteratorResult<OutputChunk>): void;
  reject(error: unknown): void;
}

/**
 * The bounded buffer between a session's pipes and its one consumer. Invariant: once the held bytes
 * reach `maxBufferedBytes` the source is paused until the consumer takes the buffer below the bound,
 * so memory stays under the bound plus the one read in flight per pipe. Nothing is dropped unless
 * `discard` is called. Push and take are amortised O(1).
 */
export class SessionOutput implements AsyncIterable<OutputChunk> {
  readonly #max: number;
  readonly #flow: OutputFlow;
  #chunks: OutputChunk[] = [];
  #head = 0;
  #buffered = 0;
  #paused = false;
  #ended = false;
  #error: unknown;
  #reading = false;
  #waiter: Waiter | undefined;

  constructor(maxBufferedBytes: number, flow: OutputFlow) {
    if (!Number.isInteger(maxBufferedBytes) || maxBufferedBytes < 1) {
      throw new DispatchError(
        "invalid_request",
        `Expected \`maxBufferedBytes\` to be an integer >= 1, got \`${maxBufferedBytes}\``,
      );
    }
    this.#max = maxBufferedBytes;
    this.#flow = flow;
  }

  /** Bytes held for the consumer. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** True once `end` was called (chunks may still be waiting to be read). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Adds a chunk read from `stream`; ignored after `end`. */
  push(stream: OutputStream, data: Uint8Array): void {
    if (this.#ended || data.length === 0) return;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      // A reader is waiting, so the buffer is empty: hand the chunk straight over.
      this.#waiter = undefined;
      waiter.resolve({ done: false, value: { stream, data } });
      return;
    }
    this.#chunks.push({ stream, data });
    this.#buffered += data.length;
    if (this.#buffered >= this.#max && !this.#paused) {
      this.#paused = true;
      this.#flow.pause();
    }
  }

  /** No more output; the reader gets what is held, then the end (or `error`, thrown once). Idempotent. */
  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    if (this.#waiter !== undefined && this.#buffered === 0) this.#settleEnd(this.#waiter);
  }

  /** Drops what is held and ends the output (the session is being closed); the source may flow again. */
  discard(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#buffered = 0;
    this.#error = undefined;
    this.end();
    if (this.#paused) {
      this.#paused = false;
      this.#flow.resume();
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<OutputChunk> {
    if (this.#reading) {
      throw new DispatchError(
        "invalid_request",
        "the session's output is already being read by another loop; read it from one loop at a time",
      );
    }
    this.#reading = true;
    return {
      next: () => this.#next(),
      return: async () => {
        this.#reading = false;
        return { done: true, value: undefined };
      },
    };
  }

  #next(): Promise<IteratorResult<OutputChunk>> {
    const chunk = this.#take();
    if (chunk !== undefined) return Promise.resolve({ done: false, value: chunk });
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      if (this.#ended) this.#settleEnd(waiter);
      else this.#waiter = waiter;
    });
  }

  #take(): OutputChunk | undefined {
    if (this.#head >= this.#chunks.length) return undefined;
    const chunk = this.#chunks[this.#head] as OutputChunk;
    this.#head += 1;
    // Compact once the consumed prefix is half the array: amortised O(1) per chunk.
    if (this.#head * 2 >= this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
    this.#buffered -= chunk.data.length;
    if (this.#paused && this.#buffered < this.#max && !this.#ended) {
      this.#paused = false;
      this.#flow.resume();
    }
    return chunk;
  }

  #settleEnd(waiter: Waiter): void {
    this.#waiter = undefined;
    const error = this.#error;
    this.#error = undefined;
    if (error === undefined) waiter.resolve({ done: true, value: undefined });
    else waiter.reject(error);
  }
}
