import { expect, test } from "bun:test";
import { z } from "zod";
import { defineProviderKind, type ProviderKind } from "./provider-kind.ts";

test("create's config is typed from the kind's options plus the common fields", () => {
  const seen: Array<{ volume: number; id: string; maxConcurrent: number }> = [];
  const kind: ProviderKind = defineProviderKind({
    kind: "loud",
    options: z.object({ volume: z.number().default(5), label: z.string().optional() }),
    create(config) {
      const volume: number = config.volume;
      const label: string | undefined = config.label;
      // @ts-expect-error a field neither the kind nor the common fields have
      void config.temperature;
      // @ts-expect-error `volume` is a number, not a string
      const wrong: string = config.volume;
      void [label, wrong];
      seen.push({ volume, id: config.id, maxConcurrent: config.maxConcurrent });
      return { status: "unavailable", reason: "a types test" };
    },
  });
  expect(
    kind.create(
      {
        id: "l",
        kind: "loud",
        volume: 7,
        models: [],
        maxConcurrent: 1,
        maxAttempts: 1,
        stallTimeoutMs: 1,
        maxRetryAfterMs: 0,
        backoff: { baseMs: 0, maxMs: 0 },
      },
      {},
    ),
  ).toEqual({
    status: "unavailable",
    reason: "a types test",
  });
  expect(seen).toEqual([{ volume: 7, id: "l", maxConcurrent: 1 }]);
});

test("a kind that narrows a common field sees the narrowed type", () => {
  defineProviderKind({
    kind: "needs-url",
    options: z.object({ baseURL: z.url() }),
    create(config) {
      const url: string = config.baseURL; // required here, optional among the common fields
      return { status: "unavailable", reason: url };
    },
  });
});
