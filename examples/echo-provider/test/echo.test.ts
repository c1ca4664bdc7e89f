import { afterEach, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { builtinExtensions } from "@dispatch/host-bin";
import { StartupError } from "@dispatch/kernel";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { type CallContext, providersRef, type StreamPart } from "@dispatch/providers";
import echoExtension, { type EchoHealth } from "../src/index.ts";

const running: TestHost[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const host of running.splice(0)) await host.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The real built-in extensions plus echo, with `providers` as given, on a free port. */
async function startWith(providers: unknown[], dataDir?: string): Promise<TestHost> {
  const host = await createTestHost({
    extensions: [...builtinExtensions(), echoExtension],
    config: { server: { port: 0 }, providers },
    ...(dataDir ? { dataDir } : {}),
  });
  running.push(host);
  return host;
}

function call(): CallContext {
  return {
    signal: new AbortController().signal,
    workspaceId: "default",
    conversationId: "c1",
    turnId: "t1",
    promptStartedAt: Date.now(),
  };
}

async function ask(host: TestHost, providerId: string, text: string): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  const request = { model: "", messages: [{ role: "user" as const, content: text }], tools: [] };
  for await (const part of host.get(providersRef).stream(providerId, request, call())) parts.push(part);
  return parts;
}

function callsOf(host: TestHost): EchoHealth["calls"] | undefined {
  const entry = host.host.status().extensions.find((e) => e.id === "echo");
  return (entry?.health as EchoHealth | undefined)?.calls;
}

test("an echo provider answers with the user's text in chunks and counts the call", async () => {
  const host = await startWith([{ id: "parrot", kind: "echo", prefix: "you said: ", chunks: 2 }]);
  const parts = await ask(host, "parrot", "hello");
  expect(parts.filter((p) => p.type === "text-delta")).toEqual([
    { type: "text-delta", text: "you said" },
    { type: "text-delta", text: ": hello" },
  ]);
  expect(parts.at(-1)).toEqual({ type: "finish", reason: "stop" });
  await ask(host, "parrot", "again");
  expect(callsOf(host)).toEqual({ parrot: 2 });
});

test("the counts are kept in echo_calls and survive a restart on the same data dir", async () => {
  const first = await createTestHost({
    extensions: [...builtinExtensions(), echoExtension],
    config: {
      server: { port: 0 },
      providers: [
        { id: "a", kind: "echo" },
        { id: "b", kind: "echo" },
      ],
    },
    keepDataDir: true,
  });
  dirs.push(first.dataDir);
  await ask(first, "a", "one");
  await ask(first, "b", "two");
  await ask(first, "a", "three");
  await first.stop();

  const second = await startWith([{ id: "a", kind: "echo" }], first.dataDir);
  expect(callsOf(second)).toEqual({ a: 2, b: 1 });
  await ask(second, "a", "four");
  expect(callsOf(second)).toEqual({ a: 3, b: 1 });
});

test("a bad echo option fails start-up naming its JSON path", async () => {
  const error = await startWith([
    { id: "scripted", kind: "scripted" },
    { id: "parrot", kind: "echo", chunks: 0, temperature: 1 },
  ]).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StartupError);
  expect((error as StartupError).problems.map((p) => p.message)).toEqual([
    "providers[1].chunks: Too small: expected number to be >=1",
    "providers[1].temperature: unknown key",
  ]);
});
