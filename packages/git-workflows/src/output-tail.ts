/**
 * The last `maxBytes` of a byte stream: chunks are kept until the newer ones alone cover the
 * bound, so memory stays about `maxBytes` plus one chunk whatever the stream's length.
 */
export class OutputTail {
  readonly #max: number;
  readonly #chunks: Uint8Array[] = [];
  #kept = 0;
  #total = 0;

  constructor(maxBytes: number) {
    this.#max = maxBytes;
  }

  push(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#kept += chunk.length;
    this.#total += chunk.length;
    while (this.#chunks.length > 1 && this.#kept - (this.#chunks[0]?.length ?? 0) >= this.#max) {
      this.#kept -= this.#chunks.shift()?.length ?? 0;
    }
  }

  /** Bytes seen in all. */
  get totalBytes(): number {
    return this.#total;
  }

  /** The tail as text; a character cut at the front is dropped rather than shown broken. */
  text(): string {
    const all = Buffer.concat(this.#chunks);
    let tail = all.subarray(Math.max(0, all.length - this.#max));
    if (tail.length < all.length) {
      // skip UTF-8 continuation bytes (10xxxxxx) left from a character that started before the cut
      let start = 0;
      while (start < tail.length && start < 4 && ((tail[start] ?? 0) & 0xc0) === 0x80) start += 1;
      tail = tail.subarray(start);
    }
    return new TextDecoder().decode(tail);
  }
}
