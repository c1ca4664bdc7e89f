import type { Logger } from "@dispatch/kernel";
import type { ActivityLog } from "./activity-log.ts";
import type { ActivityInput } from "./types.ts";

/** Options for `ActivityRecorder`. */
export interface ActivityRecorderOptions {
  log: ActivityLog;
  /** The workspace of a conversation, or undefined when it no longer exists. */
  workspaceOf(conversationId: string): Promise<string | undefined>;
  logger: Logger;
  /** Conversations whose workspace is remembered (they never move). Default 1000. */
  cacheSize?: number;
}

/**
 * Puts entries into the log in the order they were recorded, filling in the workspace of an entry
 * that names only its conversation (a `turn.started` event knows no workspace). Such an entry waits
 * for one store read, the first time its conversation is seen; entries recorded after it wait
 * behind it, so the feed's order is the order things happened. With nothing waiting, an entry is in
 * the log before `record` returns.
 */
export class ActivityRecorder {
  readonly #options: ActivityRecorderOptions;
  readonly #workspaces = new Map<string, string>();
  #tail: Promise<void> = Promise.resolve();
  #waiting = 0;

  constructor(options: ActivityRecorderOptions) {
    this.#options = options;
  }

  /** Records `input` as coming from `source`. */
  record(source: string, input: ActivityInput): void {
    const conversationId = input.conversationId ?? null;
    const known = conversationId === null ? undefined : this.#workspaces.get(conversationId);
    const complete = conversationId === null || input.workspaceId != null || known !== undefined;
    const filled =
      known === undefined || input.workspaceId != null ? input : { ...input, workspaceId: known };
    if (complete && this.#waiting === 0) {
      this.#remember(conversationId, filled.workspaceId);
      this.#options.log.append(source, filled);
      return;
    }
    // Started now, so lookups run side by side; appended in order behind what waits already.
    const lookup =
      complete || conversationId === null
        ? Promise.resolve(filled.workspaceId ?? undefined)
        : this.#options.workspaceOf(conversationId).catch((error: unknown) => {
            this.#options.logger.warn("could not read the workspace of an activity entry", {
              err: error,
              conversationId,
            });
            return undefined;
          });
    this.#waiting++;
    this.#tail = this.#tail
      .then(() => lookup)
      .then((workspaceId) => {
        this.#remember(conversationId, workspaceId ?? null);
        this.#options.log.append(source, { ...filled, workspaceId: workspaceId ?? null });
      })
      .catch((error: unknown) => this.#options.logger.error("could not record activity", { err: error }))
      .finally(() => {
        this.#waiting--;
      });
  }

  /** Resolves once everything recorded so far is in the log (tests, shutdown). */
  settled(): Promise<void> {
    return this.#tail;
  }

  #remember(conversationId: string | null, workspaceId: string | null | undefined): void {
    if (conversationId === null || workspaceId == null || this.#workspaces.has(conversationId)) return;
    if (this.#workspaces.size >= (this.#options.cacheSize ?? 1000)) {
      const oldest = this.#workspaces.keys().next().value;
      if (oldest !== undefined) this.#workspaces.delete(oldest);
    }
    this.#workspaces.set(conversationId, workspaceId);
  }
}
