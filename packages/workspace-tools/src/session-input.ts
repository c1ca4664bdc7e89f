import type { Writable } from "node:stream";
import { DispatchError } from "@dispatch/kernel";
import type { SessionInput } from "./execution-session.ts";

/** The rejection of a write to a process that is gone. */
function endedError(why: string): DispatchError {
  return new DispatchError("session_ended", `cannot write to the session's stdin: ${why}`);
}

/**
 * A session's stdin over a Node writable (a child's stdin pipe, or an SSH channel). It owns the
 * stream's `error` listener, and `close` settles every write still pending: an SSH channel that has
 * closed never calls back a queued write, so without it a writer would wait forever.
 */
export class StreamInput implements SessionInput {
  readonly #stream: Writable;
  readonly #pending = new Set<(error: DispatchError) => void>();
  #ended: Promise<void> | undefined;
  #closed: DispatchError | undefined;

  constructor(stream: Writable) {
    this.#stream = stream;
    // EPIPE and write-after-close arrive here as well as in the write callback; the callback reports them.
    stream.on("error", () => {});
  }

  write(data: string | Uint8Array): Promise<void> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    if (this.#ended !== undefined) {
      return Promise.reject(new DispatchError("invalid_request", "the session's stdin was already ended"));
    }
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    if (bytes.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const fail = (error: DispatchError) => {
        this.#pending.delete(fail);
        reject(error);
      };
      this.#pending.add(fail);
      try {
        this.#stream.write(bytes, (error) => {
          if (!this.#pending.delete(fail)) return;
          if (error) reject(this.#closed ?? endedError(error.message));
          else resolve();
        });
      } catch (error) {
        fail(endedError(error instanceof Error ? error.message : String(error)));
      }
    });
  }

  end(): Promise<void> {
    if (this.#closed !== undefined) return Promise.resolve();
    this.#ended ??= new Promise<void>((resolve) => {
      const done = () => {
        this.#pending.delete(done);
        resolve();
      };
      // `close` settles it too: the other side may be gone before it reads the end.
      this.#pending.add(done);
      try {
        this.#stream.end(() => done());
      } catch {
        done();
      }
    });
    return this.#ended;
  }

  /** The process is gone: pending and later writes reject with `session_ended` naming `why`. */
  close(why: string): void {
    if (this.#closed !== undefined) return;
    this.#closed = endedError(why);
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const settle of pending) settle(this.#closed);
  }
}
