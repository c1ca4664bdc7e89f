import { providerConfigSchema } from "../src/config.ts";
import { createModelProvider } from "../src/create-model-provider.ts";
import {
  startAnthropicTestServer,
  startOpenAITestServer,
  type WireTestServer,
} from "../src/testing/index.ts";
import type { ModelProvider, ModelRequest, StreamPart } from "../src/types.ts";

/** The two real provider kinds, each with its wire-format server. */
export const realKinds = [
  { kind: "anthropic" as const, start: startAnthropicTestServer, keyHeader: "x-api-key", keyPrefix: "" },
  {
    kind: "openai-compatible" as const,
    start: startOpenAITestServer,
    keyHeader: "authorization",
    keyPrefix: "Bearer ",
  },
];

/** A key value unlikely to occur anywhere by chance, so finding it means it leaked. */
export const TEST_KEY = "sk-test-9f1c7e2ab4d04c55-secret";
export const KEY_ENV = "DISPATCH_TEST_PROVIDER_KEY";

/** Collects every part of a stream. */
export async function collect(stream: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

/** A one-message request. */
export function ask(text: string, extra: Partial<ModelRequest> = {}): ModelRequest {
  return { model: "test-model", messages: [{ role: "user", content: text }], tools: [], ...extra };
}

/** Builds a real provider of `kind` pointed at `server`, with the key in a fake environment. */
export function realProvider(
  kind: "anthropic" | "openai-compatible",
  server: WireTestServer,
  overrides: Record<string, unknown> = {},
  env: Record<string, string | undefined> = { [KEY_ENV]: TEST_KEY },
): ModelProvider {
  const config = providerConfigSchema.parse({
    id: "p1",
    kind,
    baseURL: server.baseURL,
    apiKeyEnv: KEY_ENV,
    ...overrides,
  });
  const built = createModelProvider(config, env);
  if (built.status !== "available") throw new Error(`provider unavailable: ${built.reason}`);
  return built.provider;
}

/** The one error part of a stream, failing loudly when there is none. */
export function errorOf(parts: StreamPart[]): Extract<StreamPart, { type: "error" }>["error"] {
  const last = parts.at(-1);
  if (last?.type !== "error")
    throw new Error(`expected the stream to end with an error, got ${JSON.stringify(parts)}`);
  return last.error;
}

/** Rejects after `ms` so a wait in a test is bounded with a clear message. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
