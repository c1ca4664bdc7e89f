import type { ConversationEvent } from "@dispatch/wire";
import { EventQueue } from "./event-queue.ts";
import type { LiveListener, SubscriptionHub } from "./subscription-hub.ts";
import type { EventSubscription } from "./types.ts";

/** Reads persisted events with `seq > afterSeq`, ascending, at most `limit`. */
export type ReplaySource = (afterSeq: number, limit: number) => Promise<ConversationEvent[]>;

/** Options of one subscription. */
export interface SubscriptionOptions {
  hub: SubscriptionHub;
  conversationId: string;
  afterSeq: number;
  /** Events a consumer may fall behind by before it is dropped as `slow_consumer`. */
  maxBuffered: number;
  replay: ReplaySource;
  pageSize?: number;
  /** Called once when the subscription ends, for whatever reason. */
  onClose?: () => void;
}

/**
 * Replay from the store, then live, with no gap and no duplicate at the seam.
 *
 * The live listener is registered before the first store read, so every event is either in a later
 * read or arrives live (events are persisted before they are delivered); `#lastSeq` de-duplicates.
 * Replay is pull-driven: a page is read only when the consumer has drained the previous one, so a
 * long history never sits in memory. Live events that arrive during replay are held (bounded); if
 * the hold overflows it is simply emptied, since the store still has those events and replay reads
 * on. A live event that does not follow `#lastSeq` (which the writer's ordering rules out) sends the
 * subscription back to the store instead of skipping, so a gap can never reach the consumer.
 */
export class ConversationSubscription implements EventSubscription, LiveListener {
  readonly #options: Required<SubscriptionOptions>;
  readonly #buffer = new EventQueue<ConversationEvent>();
  #held: ConversationEvent[] = [];
  #lastSeq: number;
  #replaying = true;
  /** The highest seq another host announced; replay does not go live below it. */
  #target = 0;
  /** Counts announcements, so a replay page knows whether one arrived while it was being read. */
  #announced = 0;
  #closed = false;
  #closedReason: string | undefined;
  #finishing: string | undefined;
  #resolveEnded!: (reason: string | undefined) => void;
  /** Resolves with the reason once the subscription has ended. */
  readonly ended = new Promise<string | undefined>((resolve) => {
    this.#resolveEnded = resolve;
  });
  #failure: unknown;
  #wake: (() => void) | undefined;
  readonly #unlisten: () => void;

  constructor(options: SubscriptionOptions) {
    const { maxBuffered, afterSeq } = options;
    if (!Number.isInteger(maxBuffered) || maxBuffered < 1) {
      throw new TypeError(`Expected \`maxBuffered\` to be an integer >= 1, got \`${maxBuffered}\``);
    }
    if (!Number.isInteger(afterSeq) || afterSeq < 0) {
      throw new TypeError(`Expected \`afterSeq\` to be an integer >= 0, got \`${afterSeq}\``);
    }
    this.#options = { pageSize: Math.min(500, maxBuffered), onClose: () => {}, ...options };
    this.#lastSeq = afterSeq;
    this.#unlisten = options.hub.add(options.conversationId, this);
  }

  /** Why the subscription ended, if it was dropped. */
  get closedReason(): string | undefined {
    return this.#closedReason;
  }

  /** The highest `seq` handed to the consumer or queued for it. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Live side: called by the hub, in `seq` order. Never throws. */
  receive(event: ConversationEvent): void {
    if (this.#closed || event.seq <= this.#lastSeq) return;
    if (this.#replaying) {
      this.#held.push(event);
      if (this.#held.length > this.#options.maxBuffered) this.#held = [];
      return;
    }
    if (event.seq !== this.#lastSeq + 1) {
      this.#replaying = true;
      this.#held = [event];
      this.#notify();
      return;
    }
    this.#buffer.push(event);
    this.#lastSeq = event.seq;
    if (this.#buffer.length > this.#options.maxBuffered) this.#drop("slow_consumer");
    else this.#notify();
  }

  /** Another host stored and published this conversation's events up to `seq`. Never throws. */
  advanced(seq: number): void {
    if (this.#closed || seq <= this.#lastSeq) return;
    if (seq > this.#target) this.#target = seq;
    this.#announced += 1;
    if (this.#replaying) return;
    this.#replaying = true;
    this.#notify();
  }

  /** Stops delivery and frees the buffer; idempotent. */
  close(): void {
    this.#end(undefined);
  }

  /** Ends the subscription with a reason (for example `shutdown`). */
  drop(reason: string): void {
    this.#drop(reason);
  }

  /** Ends with `reason` once the consumer has everything published so far; see EventSubscription. */
  finish(reason: string): void {
    if (this.#closed) return;
    this.#finishing ??= reason;
    this.#notify();
  }

  /** One consumer at a time; `return()` (a `break` out of for-await) closes the subscription. */
  [Symbol.asyncIterator](): AsyncIterator<ConversationEvent> {
    return {
      next: () => this.#next(),
      return: async () => {
        this.close();
        return { value: undefined, done: true };
      },
    };
  }

  async #next(): Promise<IteratorResult<ConversationEvent>> {
    for (;;) {
      const event = this.#buffer.shift();
      if (event !== undefined) return { value: event, done: false };
      if (this.#failure !== undefined) {
        const failure = this.#failure;
        this.#failure = undefined;
        throw failure;
      }
      if (this.#closed) return { value: undefined, done: true };
      if (this.#finishing !== undefined && !this.#replaying) {
        this.#end(this.#finishing);
        return { value: undefined, done: true };
      }
      if (this.#replaying) await this.#replayPage();
      else await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  async #replayPage(): Promise<void> {
    const { pageSize, replay } = this.#options;
    const announcedBefore = this.#announced;
    let page: ConversationEvent[];
    try {
      page = await replay(this.#lastSeq, pageSize);
    } catch (error) {
      if (this.#closed) return;
      this.#failure = error;
      this.#drop("replay_failed");
      return;
    }
    if (this.#closed) return;
    for (const event of page) {
      if (event.seq <= this.#lastSeq) continue;
      this.#buffer.push(event);
      this.#lastSeq = event.seq;
    }
    // A short page is a complete snapshot taken after the listener was registered: switch to live,
    // unless another host announced more than it held (its commit raced the read): read again then.
    if (page.length >= pageSize) return;
    // An announcement made before this read began is in it (announcements follow commits); one
    // that arrived during the read may not be, so read again. One the store cannot back (the
    // conversation went) must not spin the replay, hence no loop on an old announcement.
    if (this.#target > this.#lastSeq && this.#announced !== announcedBefore) return;
    this.#target = 0;
    const held = this.#held;
    this.#held = [];
    this.#replaying = false;
    for (const [index, event] of held.entries()) {
      if (event.seq <= this.#lastSeq) continue;
      if (event.seq !== this.#lastSeq + 1) {
        this.#replaying = true;
        this.#held = held.slice(index);
        return;
      }
      this.#buffer.push(event);
      this.#lastSeq = event.seq;
    }
  }

  #drop(reason: string): void {
    if (this.#closed) return;
    this.#end(reason);
  }

  #end(reason: string | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closedReason = reason;
    this.#unlisten();
    this.#buffer.clear();
    this.#held = [];
    this.#notify();
    this.#options.onClose();
    this.#resolveEnded(reason);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
