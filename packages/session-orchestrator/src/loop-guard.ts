/** What the loop guard says about one tool call. */
export type LoopVerdict =
  /** Run it. */
  | { action: "run" }
  /** Do not run it; answer the model with `message` as a tool error. */
  | { action: "refuse"; message: string }
  /** End the turn (`loop_detected`) with `message`. */
  | { action: "stop"; message: string };

/**
 * Counts identical tool calls (same name, same input up to key order) in a row within one turn
 * (DESIGN §16): from the `repeats`-th on, a call is not run and the model is told why; at twice
 * `repeats` the turn ends. Any other call in between starts the count again.
 */
export class LoopGuard {
  readonly #repeats: number;
  #last: string | undefined;
  #count = 0;

  constructor(repeats: number) {
    this.#repeats = repeats;
  }

  /** Records the next call of the turn and judges it. */
  check(toolName: string, input: unknown): LoopVerdict {
    const key = `${toolName}\u0000${canonicalJson(input)}`;
    this.#count = key === this.#last ? this.#count + 1 : 1;
    this.#last = key;
    const count = this.#count;
    const repeats = this.#repeats;
    if (count >= 2 * repeats) {
      return {
        action: "stop",
        message: `the model called "${toolName}" with the same input ${count} times in a row (loopGuard.repeats is ${repeats}); the turn was stopped`,
      };
    }
    if (count >= repeats) {
      return {
        action: "refuse",
        message:
          `Loop guard: this is call ${count} in a row of "${toolName}" with the same input, so it was not run. ` +
          "Repeating it will not give a different answer: change the input, try another way, or finish with what you have. " +
          `At ${2 * repeats} identical calls in a row the turn ends.`,
      };
    }
    return { action: "run" };
  }
}

let unserialisable = 0;

/** JSON with object keys sorted, so `{a, b}` and `{b, a}` are the same input. */
export function canonicalJson(value: unknown): string {
  try {
    return (
      JSON.stringify(value, (_key, v: unknown) =>
        v !== null && typeof v === "object" && !Array.isArray(v)
          ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
          : v,
      ) ?? "undefined"
    );
  } catch {
    // a cycle or a BigInt (never in parsed JSON): such inputs cannot be compared, so each counts as new
    unserialisable += 1;
    return `unserialisable:${unserialisable}`;
  }
}
