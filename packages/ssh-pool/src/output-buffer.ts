/**
 * Keeps the first `limit` bytes of a stream and counts the rest. Reading continues past the cap
 * (so the remote side is never blocked by flow control) but nothing more is stored.
 */
export class OutputBuffer {
  readonly #limit: number;
  readonly #chunks: Uint8Array[] = [];
  #stored = 0;
  #seen = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** True once more than `limit` bytes arrived. */
  get truncated(): boolean {
    return this.#seen > this.#limit;
  }

  push(chunk: Uint8Array): void {
    this.#seen += chunk.length;
    const room = this.#limit - this.#stored;
    if (room <= 0) return;
    const kept = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.#chunks.push(kept);
    this.#stored += kept.length;
  }

  /** The stored bytes as UTF-8 (a character cut at the cap becomes U+FFFD). */
  text(): string {
    return new TextDecoder().decode(Buffer.concat(this.#chunks, this.#stored));
  }
}
