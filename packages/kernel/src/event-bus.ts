// DispatchEvents is declared in index.ts: packages augment the module "@dispatch/kernel", and an
// augmentation only merges with an interface declared in that very module, not with a re-export.
import type { DispatchEvents } from "./index.ts";

/** An event name known to the bus. */
export type EventName = keyof DispatchEvents & string;
/** A handler for one event; it may be async, and its errors are caught and attributed to its extension. */
export type EventHandler<K extends EventName> = (payload: DispatchEvents[K]) => void | Promise<void>;

/** Where a handler's error is reported, with the id of the extension that subscribed it. */
export type HandlerErrorReporter = (subscriberId: string, event: string, error: unknown) => void;

interface Subscription {
  subscriberId: string;
  handler: (payload: unknown) => void | Promise<void>;
}

/** The typed, synchronous in-process event bus. Publishing never throws because of a handler. */
export class EventBus {
  readonly #handlers = new Map<string, Set<Subscription>>();
  readonly #report: HandlerErrorReporter;

  constructor(report: HandlerErrorReporter) {
    this.#report = report;
  }

  /** Delivers `payload` to every handler of `event`, in subscription order. */
  publish<K extends EventName>(event: K, payload: DispatchEvents[K]): void {
    const subs = this.#handlers.get(event);
    if (!subs) return;
    for (const sub of [...subs]) {
      try {
        const result = sub.handler(payload);
        if (result instanceof Promise) result.catch((error) => this.#report(sub.subscriberId, event, error));
      } catch (error) {
        this.#report(sub.subscriberId, event, error);
      }
    }
  }

  /** Adds a handler on behalf of `subscriberId`; returns the function that removes it. */
  subscribe<K extends EventName>(subscriberId: string, event: K, handler: EventHandler<K>): () => void {
    let subs = this.#handlers.get(event);
    if (!subs) {
      subs = new Set();
      this.#handlers.set(event, subs);
    }
    const sub: Subscription = { subscriberId, handler: handler as Subscription["handler"] };
    subs.add(sub);
    return () => {
      subs.delete(sub);
    };
  }

  /** Number of handlers for an event, for leak checks. */
  listenerCount(event: EventName): number {
    return this.#handlers.get(event)?.size ?? 0;
  }
}

/** The bus as one extension sees it: its subscriptions are attributed to it and removed at its shutdown. */
export interface ExtensionBus {
  publish<K extends EventName>(event: K, payload: DispatchEvents[K]): void;
  subscribe<K extends EventName>(event: K, handler: EventHandler<K>): () => void;
}
