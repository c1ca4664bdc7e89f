import { describe, expect, test } from "bun:test";
import { type CachedHistory, HistoryCache, historyCacheLimits } from "./history-cache.ts";

const entry = (bytes: number, epoch = "1.0"): CachedHistory => ({
  epoch,
  messages: [],
  lastRow: 0,
  lastCreatedAt: 0,
  bytes,
});

describe("HistoryCache", () => {
  test("serves a history only in the epoch it was read in", () => {
    const cache = new HistoryCache();
    cache.set("c1", entry(10));
    expect(cache.get("c1", "1.0")).toBeDefined();
    expect(cache.get("c1", "2.0")).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test("keeps at most its entries and its bytes, dropping the least recently read first", () => {
    const cache = new HistoryCache();
    cache.set("read", entry(1));
    for (let i = 0; i < historyCacheLimits.entries + 5; i += 1) {
      cache.set(`c${i}`, entry(1));
      expect(cache.get("read", "1.0")).toBeDefined();
    }
    expect(cache.size).toBe(historyCacheLimits.entries);
    expect(cache.get("c0", "1.0")).toBeUndefined();
    expect(cache.get(`c${historyCacheLimits.entries + 4}`, "1.0")).toBeDefined();
    const half = historyCacheLimits.bytes / 2;
    cache.set("big1", entry(half));
    cache.set("big2", entry(half));
    cache.set("big3", entry(half));
    expect(cache.get("big1", "1.0")).toBeUndefined();
    expect(cache.get("big3", "1.0")).toBeDefined();
    cache.set("huge", entry(historyCacheLimits.bytes + 1));
    expect(cache.get("huge", "1.0")).toBeUndefined();
  });
});
