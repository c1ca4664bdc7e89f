import type { FileId } from "./backend.ts";
import { fileKey } from "./beneath-root.ts";

/** Files one turn may create before the oldest records are dropped (a bound on memory, not a rule). */
const maxPerTurn = 10_000;

/**
 * Which files the tools created in each turn (`dev:ino`), for the hard-link rule: a regular file
 * with more than one link is refused unless it is one of these. Forgotten when the turn finishes.
 */
export class TurnFiles {
  readonly #byTurn = new Map<string, Set<string>>();

  /** Records that the tools created `id` during `turnId`. */
  add(turnId: string, id: FileId): void {
    let files = this.#byTurn.get(turnId);
    if (files === undefined) {
      files = new Set();
      this.#byTurn.set(turnId, files);
    }
    if (files.size >= maxPerTurn) files.delete(files.values().next().value as string);
    files.add(fileKey(id));
  }

  /** The files created during `turnId` so far. */
  of(turnId: string): ReadonlySet<string> {
    return this.#byTurn.get(turnId) ?? new Set();
  }

  /** Drops a finished turn's records. */
  forget(turnId: string): void {
    this.#byTurn.delete(turnId);
  }
}
