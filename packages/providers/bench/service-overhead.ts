/**
 * What one model call's stream costs when it goes through the ProvidersService (concurrency slot,
 * retry loop, part pump) instead of straight from the provider. Baseline and subject run in the
 * same process, interleaved, several rounds; prints medians and the ratio.
 *
 *   bun packages/providers/bench/service-overhead.ts
 */
import { median } from "@dispatch/bench-kit";
import { createConcurrencyManager } from "@dispatch/provider-concurrency";
import { providerConfigSchema } from "../src/config.ts";
import { createModelProvider } from "../src/create-model-provider.ts";
import { createProvidersService } from "../src/providers-service.ts";
import { startOpenAITestServer } from "../src/testing/index.ts";
import type { ModelProvider, ModelRequest, ProvidersService, StreamPart } from "../src/types.ts";

const ROUNDS = 7;
const request: ModelRequest = { model: "m", messages: [{ role: "user", content: "bench" }], tools: [] };

async function drain(stream: AsyncIterable<StreamPart>): Promise<number> {
  let n = 0;
  for await (const _ of stream) n++;
  return n;
}

async function compare(
  label: string,
  provider: ModelProvider,
  service: ProvidersService,
  providerId: string,
) {
  const direct: number[] = [];
  const viaService: number[] = [];
  let parts = 0;
  const context = () => ({
    signal: new AbortController().signal,
    workspaceId: "w",
    conversationId: "c",
    turnId: "t",
    promptStartedAt: Date.now(),
  });
  await drain(provider.stream(request, new AbortController().signal)); // warm-up
  await drain(service.stream(providerId, request, context()));
  for (let round = 0; round < ROUNDS; round++) {
    let start = performance.now();
    parts = await drain(provider.stream(request, new AbortController().signal));
    direct.push(performance.now() - start);
    start = performance.now();
    await drain(service.stream(providerId, request, context()));
    viaService.push(performance.now() - start);
  }
  const d = median(direct);
  const s = median(viaService);
  console.log(
    `${label}: ${parts} parts — direct ${d.toFixed(1)} ms (${Math.round((parts / d) * 1000)} parts/s), ` +
      `service ${s.toFixed(1)} ms (${Math.round((parts / s) * 1000)} parts/s), ratio service/direct ${(s / d).toFixed(2)}`,
  );
}

const manager = createConcurrencyManager();
const CHUNKS = 20_000;
const scriptedConfig = providerConfigSchema.parse({
  id: "scripted",
  kind: "scripted",
  script: { replies: [], fallback: { steps: [{ text: "x".repeat(CHUNKS), chunks: CHUNKS }] } },
});
const server = startOpenAITestServer();
const wireText = Array.from({ length: 2000 }, () => ({ text: "token " }));
server.setResponder(() => ({ stream: wireText }));
const wireConfig = providerConfigSchema.parse({
  id: "wire",
  kind: "openai-compatible",
  baseURL: server.baseURL,
});
const scripted = createModelProvider(scriptedConfig);
const wire = createModelProvider(wireConfig);
if (scripted.status !== "available" || wire.status !== "available")
  throw new Error("bench providers unavailable");
const service = createProvidersService({
  manager,
  providers: [
    { settings: scriptedConfig, built: scripted },
    { settings: wireConfig, built: wire },
  ],
});
try {
  await compare("scripted (in-process, pure overhead)", scripted.provider, service, "scripted");
  await compare("openai-compatible over loopback SSE", wire.provider, service, "wire");
} finally {
  manager.dispose();
  await server.stop();
}
