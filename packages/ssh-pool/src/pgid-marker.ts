import { PGID_MARK } from "./remote-command.ts";

/** The marker is `\x1e<digits>\x1e`; anything longer is ordinary stderr. */
const MARK_MAX_BYTES = 24;
const empty = Buffer.alloc(0);

/**
 * Reads the wrapper's process-group marker (see `buildRemoteCommand`) off the start of a channel's
 * stderr. Until it has decided, it holds what it was fed; after, every byte is ordinary stderr.
 */
export class PgidMarkerReader {
  #head: Buffer | undefined = empty;
  /** The remote process group, once the marker has been read. */
  pgid: number | undefined;

  /** True once the start of stderr has been judged (marker found or not). */
  get done(): boolean {
    return this.#head === undefined;
  }

  /** Feeds a stderr chunk; returns the part of it (and of what was held) that is ordinary stderr. */
  feed(chunk: Buffer): Buffer {
    if (this.#head === undefined) return chunk;
    const head = Buffer.concat([this.#head, chunk]);
    if (head[0] !== PGID_MARK) return this.flush(head);
    const end = head.indexOf(PGID_MARK, 1);
    if (end === -1) {
      if (head.length > MARK_MAX_BYTES) return this.flush(head);
      this.#head = head;
      return empty;
    }
    const id = Number(head.subarray(1, end).toString("latin1"));
    if (Number.isInteger(id) && id > 1) this.pgid = id;
    return this.flush(head.subarray(end + 1));
  }

  /** Stops looking for the marker; returns what was held as ordinary stderr. */
  flush(held: Buffer = this.#head ?? empty): Buffer {
    this.#head = undefined;
    return held;
  }
}
