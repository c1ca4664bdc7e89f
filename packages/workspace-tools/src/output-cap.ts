/** Text cut to a byte budget, with what was cut. */
export interface CappedText {
  text: string;
  truncated: boolean;
  /** UTF-8 size of the text before cutting. */
  totalBytes: number;
  /** UTF-8 size of `text`. */
  shownBytes: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Length of the longest prefix of `bytes` (at most `max`) that does not split a UTF-8 sequence. */
export function utf8Boundary(bytes: Uint8Array, max: number): number {
  if (bytes.length <= max) return bytes.length;
  let end = max;
  // Step back over continuation bytes (10xxxxxx) so the cut lands before a sequence's first byte.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return end;
}

/** Length of `bytes` without a trailing, incomplete UTF-8 sequence (left by a cut stream). */
export function completeUtf8Length(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let back = 1; back <= Math.min(4, n); back++) {
    const byte = bytes[n - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue;
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

/** Cuts `text` to at most `maxBytes` of UTF-8, never inside a character. */
export function capText(text: string, maxBytes: number): CappedText {
  // Cheap exit: a UTF-16 code unit is at most 3 UTF-8 bytes.
  if (text.length * 3 <= maxBytes) {
    const size = Buffer.byteLength(text);
    return { text, truncated: false, totalBytes: size, shownBytes: size };
  }
  const bytes = encoder.encode(text);
  if (bytes.length <= maxBytes) {
    return { text, truncated: false, totalBytes: bytes.length, shownBytes: bytes.length };
  }
  const end = utf8Boundary(bytes, maxBytes);
  return {
    text: decoder.decode(bytes.subarray(0, end)),
    truncated: true,
    totalBytes: bytes.length,
    shownBytes: end,
  };
}

/** The note appended to cut output. */
export function truncationNote(shownBytes: number, totalBytes: number | undefined): string {
  return totalBytes === undefined
    ? `[truncated: showed the first ${shownBytes} bytes]`
    : `[truncated: showed ${shownBytes} of ${totalBytes} bytes]`;
}

/** Room kept for the note when a result is cut: two numbers of up to 16 digits and the words. */
const noteReserve = 80;

/**
 * Caps a whole tool result at `maxBytes`, note included, so the cap is a hard bound on what reaches
 * the model.
 */
export function capResult(text: string, maxBytes: number): string {
  const whole = capText(text, maxBytes);
  if (!whole.truncated) return text;
  const body = capText(text, Math.max(0, maxBytes - noteReserve));
  return `${body.text}\n${truncationNote(body.shownBytes, whole.totalBytes)}`;
}

/**
 * Collects a byte stream up to `maxBytes`, counting (and dropping) the rest. Memory is bounded by
 * `maxBytes` however much the stream produces.
 */
export class OutputCollector {
  readonly #max: number;
  readonly #chunks: Uint8Array[] = [];
  #kept = 0;
  #total = 0;

  constructor(maxBytes: number) {
    this.#max = maxBytes;
  }

  /** Adds a chunk; bytes past the budget are only counted. */
  push(chunk: Uint8Array): void {
    this.#total += chunk.length;
    const room = this.#max - this.#kept;
    if (room <= 0) return;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.#chunks.push(part);
    this.#kept += part.length;
  }

  /** Bytes seen in total, kept or not. */
  get totalBytes(): number {
    return this.#total;
  }

  get truncated(): boolean {
    return this.#total > this.#kept;
  }

  /** The kept bytes as text, cut before a split character when the stream was truncated. */
  text(): string {
    const all = Buffer.concat(this.#chunks);
    return decoder.decode(this.truncated ? all.subarray(0, completeUtf8Length(all)) : all);
  }
}
