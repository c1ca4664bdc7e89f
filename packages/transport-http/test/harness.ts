import { conversationStoreExtension } from "@dispatch/conversation-store";
import type { AnyExtension, Logger } from "@dispatch/kernel";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { providerConcurrencyExtension } from "@dispatch/provider-concurrency";
import { providersExtension } from "@dispatch/providers";
import { sessionOrchestratorExtension } from "@dispatch/session-orchestrator";
import { workspaceToolsExtension } from "@dispatch/workspace-tools";
import { hc } from "hono/client";
import type { AppType } from "../src/app.ts";
import { transportHttpExtension } from "../src/extension.ts";
import { sseMessages } from "../src/testing.ts";
import { httpServerRef } from "../src/types.ts";

/** The built-in extensions the API needs, in no particular order (the host sorts them). */
export const apiExtensions: AnyExtension[] = [
  conversationStoreExtension,
  providerConcurrencyExtension,
  providersExtension,
  sessionOrchestratorExtension,
  workspaceToolsExtension,
  transportHttpExtension,
];

/** A running API on a loopback port with its typed client. */
export interface ApiHarness {
  testHost: TestHost;
  url: string;
  client: ReturnType<typeof hc<AppType>>;
  /** Raw fetch against the server, with the token when one is configured. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * Starts the real host with the API on port 0 (`logger` replaces the in-memory test logger, for
 * benchmarks; `dataDir` reuses a directory, for restarts).
 */
export async function startApi(
  config: Record<string, unknown> = {},
  extra: AnyExtension[] = [],
  logger?: Logger,
  /** Reuse a data dir (restart tests); it is then left in place at stop. */
  dataDir?: string,
): Promise<ApiHarness> {
  const server: Record<string, unknown> = {
    port: 0,
    ...(config.server as Record<string, unknown> | undefined),
  };
  const testHost = await createTestHost({
    extensions: [...apiExtensions, ...extra],
    config: { ...config, server },
    logger,
    ...(dataDir === undefined ? {} : { dataDir }),
  });
  const address = testHost.get(httpServerRef).address();
  if (!address) throw new Error("server did not start");
  const url = `http://127.0.0.1:${address.port}`;
  const token = typeof server.token === "string" ? server.token : undefined;
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  return {
    testHost,
    url,
    client: hc<AppType>(url, { headers }),
    fetch: (path, init) =>
      fetch(`${url}${path}`, { ...init, headers: { ...headers, ...(init?.headers ?? {}) } }),
    stop: async () => {
      await testHost.stop();
    },
  };
}

/** A scripted provider config: every turn streams `chunks` pieces `delayMs` apart. */
export function slowScripted(maxConcurrent: number, chunks: number, delayMs: number) {
  return {
    providers: [
      {
        id: "scripted",
        kind: "scripted",
        maxConcurrent,
        script: {
          replies: [],
          fallback: { steps: [{ text: "slow reply from the script", chunks, delayMs }] },
        },
      },
    ],
  };
}

/** One server-sent event of the API, its data parsed. */
export interface ApiSseEvent {
  id: number;
  data: { seq: number; type: string; turnId: string | null; data: Record<string, unknown> };
}

/** Reads events from a response until `until` returns true or the stream ends. */
export async function readSse(
  response: Response,
  until: (message: ApiSseEvent, all: ApiSseEvent[]) => boolean,
): Promise<ApiSseEvent[]> {
  const seen: ApiSseEvent[] = [];
  for await (const { id, data } of sseMessages(response.body as ReadableStream<Uint8Array>)) {
    if (id === undefined) continue;
    const message = { id, data: JSON.parse(data) as ApiSseEvent["data"] };
    seen.push(message);
    if (until(message, seen)) break;
  }
  return seen;
}

/** Polls `check` every 10 ms until it returns a value, or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}
