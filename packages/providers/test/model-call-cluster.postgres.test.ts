import { afterEach, expect, test } from "bun:test";
import { clusterExtension } from "@dispatch/cluster";
import { conversationStoreExtension } from "@dispatch/conversation-store";
import { reusableTestDatabase, type TestDatabase } from "@dispatch/conversation-store/testing";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { concurrencyManagerRef, providerConcurrencyExtension } from "@dispatch/provider-concurrency";
import { createProvidersService } from "../src/providers-service.ts";
import type { ModelProvider, StreamPart } from "../src/types.ts";
import { ask, within } from "./helpers.ts";

// The model-call loop on the cluster-backed concurrency manager (Postgres), which learns that a
// call is queued only after its enqueue's round trip: the call still says it waits, then streams.

const hosts: TestHost[] = [];
const databases: TestDatabase[] = [];
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop();
  for (const database of databases.splice(0)) await database.drop();
});

const oneReply: ModelProvider = {
  id: "p",
  kind: "fake",
  async *stream() {
    yield { type: "text-delta", text: "hi" };
    yield { type: "finish", reason: "stop" };
  },
};

test("a call queued behind a held slot yields waiting before the grant, then the provider's parts", async () => {
  const database = await reusableTestDatabase();
  databases.push(database);
  const host = await createTestHost({
    extensions: [conversationStoreExtension, clusterExtension, providerConcurrencyExtension],
    config: {
      store: { url: database.url },
      cluster: { instanceTimeoutMs: 2_000, heartbeatMs: 200 },
      concurrency: { watchdogIntervalMs: 100 },
    },
  });
  hosts.push(host);
  const manager = host.get(concurrencyManagerRef);
  const service = createProvidersService({
    manager,
    providers: [
      {
        settings: {
          id: "p",
          kind: "fake",
          models: [],
          maxConcurrent: 1,
          maxAttempts: 1,
          stallTimeoutMs: 60_000,
          maxRetryAfterMs: 60_000,
          backoff: { baseMs: 1, maxMs: 1 },
        },
        built: { status: "available", provider: oneReply },
      },
    ],
  });
  const holder = await manager.acquire({
    providerId: "p",
    workspaceId: "default",
    promptStartedAt: Date.now(),
  });
  const context = {
    signal: new AbortController().signal,
    workspaceId: "default",
    conversationId: "c-queued",
    turnId: "t-queued",
    promptStartedAt: Date.now(),
  };
  const iterator = service.stream("p", ask("queued"), context)[Symbol.asyncIterator]();
  const first = await within(iterator.next(), 10_000, "the queued call's first part");
  expect(first.value).toEqual({ type: "waiting", reason: "queue", attempt: 1 });
  holder.release();
  const rest: StreamPart[] = [];
  for (;;) {
    const next = await within(iterator.next(), 10_000, "the call after the grant");
    if (next.done === true) break;
    rest.push(next.value);
  }
  expect(rest.map((part) => part.type)).toEqual(["slot-granted", "text-delta", "finish"]);
});
