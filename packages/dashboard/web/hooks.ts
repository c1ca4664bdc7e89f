import type { ActivityEntry } from "@dispatch/wire";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { activityFeed } from "./model/activity-feed.ts";

/** The state of a load: its value once there, or the error's message. */
export interface Loaded<T> {
  value: T | undefined;
  error: string | undefined;
  /** Loads again; resolves once the answer is shown (or dropped for a newer one). */
  reload: () => Promise<void>;
}

/**
 * Runs `load` now, whenever `deps` change, every `everyMs` while the view is shown (one timer, gone
 * with the view) and on `reload()`. Answers that arrive after a newer load started are dropped.
 */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[], everyMs?: number): Loaded<T> {
  const [value, setValue] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const generation = useRef(0);
  const run = useCallback(() => {
    const mine = ++generation.current;
    return load().then(
      (v) => {
        if (mine !== generation.current) return;
        setValue(() => v);
        setError(undefined);
      },
      (e: unknown) => {
        if (mine !== generation.current) return;
        setError(e instanceof Error ? e.message : String(e));
      },
    );
    // `deps` are the caller's: what `load` reads.
  }, deps);
  useEffect(() => {
    void run();
    if (everyMs === undefined) return;
    const timer = setInterval(() => void run(), everyMs);
    return () => clearInterval(timer);
  }, [run, everyMs]);
  useEffect(
    () => () => {
      generation.current++;
    },
    [],
  );
  return { value, error, reload: run };
}

/** The feed's entries and stream state, re-rendering on every change. */
export function useActivity(): { entries: ActivityEntry[]; state: string } {
  const [, setTick] = useState(0);
  useEffect(() => activityFeed.subscribe(() => setTick((n) => n + 1)), []);
  return { entries: activityFeed.entries, state: activityFeed.state };
}

/** Calls `react` (at most once per 100 ms burst) when a new activity entry matches `matches`. */
export function useActivityReload(matches: (entry: ActivityEntry) => boolean, react: () => unknown): void {
  const latest = useRef({ matches, react });
  latest.current = { matches, react };
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = activityFeed.onEntry((entry) => {
      if (!latest.current.matches(entry) || timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        latest.current.react();
      }, 100);
    });
    return () => {
      stop();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, []);
}
