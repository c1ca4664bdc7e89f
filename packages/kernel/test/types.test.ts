/**
 * Type-level tests: `bun run typecheck` fails if any `@ts-expect-error` below stops being an error,
 * so the typed refs, config slices and bus cannot silently decay to `any`.
 */
import { expect, test } from "bun:test";
import { z } from "zod";
import { createServiceRef, defineExtension, type ServiceRef } from "../src/index.ts";
import { createTestHost } from "../src/testing.ts";

declare module "../src/index.ts" {
  interface DispatchEvents {
    "kernel-types.saved": { path: string; bytes: number };
  }
}

interface Clock {
  now(): number;
}
const clockRef = createServiceRef<Clock>("clock");

const clock = defineExtension({
  manifest: { id: "clock", version: "1.0.0" },
  provides: [clockRef],
  activate(ctx) {
    ctx.provide(clockRef, { now: () => 42 });
    // never called: only the compiler looks at it
    const _wrongImpl = () =>
      // @ts-expect-error the implementation must match the ref's type
      ctx.provide(clockRef, { now: () => "42" });
  },
});

let observed: number | undefined;
const user = defineExtension({
  manifest: { id: "user", version: "1.0.0", dependsOn: ["clock"] },
  config: {
    key: "user",
    schema: z
      .object({ greeting: z.string().default("hi") })
      .strict()
      .default({ greeting: "hi" }),
  },
  activate(ctx) {
    const c: Clock = ctx.use(clockRef);
    observed = c.now();
    // @ts-expect-error use() returns the ref's type, not any
    const wrong: string = ctx.use(clockRef);
    void wrong;

    const maybe = ctx.useOptional(clockRef);
    // @ts-expect-error useOptional may give undefined
    maybe.now();

    const greeting: string = ctx.config.greeting;
    void greeting;
    // @ts-expect-error the config slice is typed from its schema
    void ctx.config.farewell;

    ctx.bus.publish("kernel-types.saved", { path: "a", bytes: 1 });
    // @ts-expect-error payloads are typed per event
    ctx.bus.publish("kernel-types.saved", { path: "a" });
    // never called: only the compiler looks at it
    const _unknownEvent = () =>
      // @ts-expect-error unknown events are rejected
      ctx.bus.publish("kernel-types.nope", {});
    ctx.bus.subscribe("kernel-types.saved", (payload) => {
      const bytes: number = payload.bytes;
      // @ts-expect-error handler payloads are typed too
      const missing: string = payload.missing;
      void bytes;
      void missing;
    });
  },
});

// @ts-expect-error refs of different types are not interchangeable
const notAClock: ServiceRef<number> = clockRef;
void notAClock;

// @ts-expect-error a manifest needs a version
defineExtension({ manifest: { id: "no-version" }, activate() {} });

test("typed refs carry their implementation through the host", async () => {
  const host = await createTestHost({ extensions: [clock, user] });
  try {
    expect(observed).toBe(42);
    const now: number = host.get(clockRef).now();
    expect(now).toBe(42);
  } finally {
    await host.stop();
  }
});
