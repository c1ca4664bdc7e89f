/**
 * Runs work one at a time per key (a repository), in arrival order; different keys run in
 * parallel. A key's entry lives only while work for it is queued or running, so the map never
 * holds idle keys.
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `work` after everything queued before it under `key`; its result or error is returned. */
  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = before.then(() => mine);
    this.#tails.set(key, tail);
    await before;
    try {
      return await work();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Keys with work queued or running (for leak checks). */
  get size(): number {
    return this.#tails.size;
  }
}
