import type { ActivityEntry } from "@dispatch/wire";
import { api } from "../api/client.ts";
import { mergeActivity } from "./activity-merge.ts";
import { openLiveStream, type StreamState } from "./live-stream.ts";

type Listener = () => void;

/**
 * The page's one copy of the activity feed: `GET /activity`, then `GET /activity/stream` from the
 * newest id it answered, so nothing between the two is missed. Views read `entries` and subscribe to
 * hear of new ones (to show them, or to reload what they changed: a star, a task).
 */
export class ActivityFeed {
  entries: ActivityEntry[] = [];
  state: StreamState = "stopped";
  readonly #listeners = new Set<Listener>();
  readonly #entryListeners = new Set<(entry: ActivityEntry) => void>();
  #stream: { close(): void } | undefined;
  #lastId: string | null = null;

  /** Loads the feed and opens the stream; `shouldRetry` is asked when the stream was refused. */
  async start(shouldRetry: () => Promise<boolean>): Promise<void> {
    this.stop();
    const { entries, lastId } = await api.activity.list();
    this.entries = entries;
    this.#lastId = lastId;
    this.#notify();
    this.#stream = openLiveStream<ActivityEntry>({
      url: () => api.activity.streamUrl(this.#lastId),
      onMessage: (entry) => {
        this.#lastId = entry.id;
        this.entries = mergeActivity(this.entries, [entry]);
        for (const listener of this.#entryListeners) listener(entry);
        this.#notify();
      },
      onState: (state) => {
        this.state = state;
        this.#notify();
      },
      shouldRetry,
    });
  }

  stop(): void {
    this.#stream?.close();
    this.#stream = undefined;
  }

  /** Calls `listener` on every change (entries or stream state); returns the unsubscribe. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Calls `listener` with each new entry as it arrives; returns the unsubscribe. */
  onEntry(listener: (entry: ActivityEntry) => void): () => void {
    this.#entryListeners.add(listener);
    return () => this.#entryListeners.delete(listener);
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }
}

/** The feed of this page. */
export const activityFeed = new ActivityFeed();
