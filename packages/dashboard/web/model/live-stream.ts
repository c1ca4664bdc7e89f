/** Where a live stream stands, shown to the user. */
export type StreamState = "connecting" | "live" | "reconnecting" | "stopped";

/** Options for `openLiveStream`. */
export interface LiveStreamOptions<T> {
  /** The URL to (re)open: called again with what was read so far after the browser gave up. */
  url: () => string;
  onMessage: (message: T) => void;
  onState?: (state: StreamState) => void;
  /** Asked after the browser gave up on the stream (an error answer): true to try again later. */
  shouldRetry?: () => Promise<boolean>;
  retryMs?: number;
}

/**
 * An EventSource that keeps going: the browser reconnects by itself with `Last-Event-ID` after a
 * dropped connection (the server's `retry:`); when it gives up (an error answer such as 401, or the
 * host down), `shouldRetry` decides, and a new EventSource opens from `url()` (resuming from what
 * was read). One timer at most, owned here; `close()` ends everything.
 */
export function openLiveStream<T>(options: LiveStreamOptions<T>): { close(): void } {
  let source: EventSource | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const state = (s: StreamState) => options.onState?.(s);
  const open = () => {
    if (closed) return;
    state("connecting");
    const es = new EventSource(options.url());
    source = es;
    es.onopen = () => state("live");
    es.onmessage = (event: MessageEvent<string>) => {
      try {
        options.onMessage(JSON.parse(event.data) as T);
      } catch (error) {
        console.error("dispatch: a stream message could not be read", error);
      }
    };
    es.onerror = () => {
      if (closed) return;
      if (es.readyState !== EventSource.CLOSED) {
        state("reconnecting");
        return;
      }
      es.close();
      state("reconnecting");
      void (options.shouldRetry?.() ?? Promise.resolve(true)).then((retry) => {
        if (closed) return;
        if (!retry) {
          state("stopped");
          return;
        }
        timer = setTimeout(open, options.retryMs ?? 2000);
      });
    };
  };
  open();
  return {
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      source?.close();
      state("stopped");
    },
  };
}
