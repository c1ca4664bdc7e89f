import { afterEach, expect, test } from "bun:test";
import { builtinExtensions } from "@dispatch/host-bin";
import { StartupError } from "@dispatch/kernel";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { httpServerRef } from "@dispatch/transport-http";
import helloExtension, { type HelloResponse } from "../src/index.ts";

let running: TestHost | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

/** The real built-in extensions plus ours, on a free loopback port, in a temp data dir. */
async function startWith(hello: Record<string, unknown> | undefined): Promise<{ base: string; t: TestHost }> {
  const t = await createTestHost({
    extensions: [...builtinExtensions(), helloExtension],
    config: { server: { port: 0 }, ...(hello === undefined ? {} : { hello }) },
  });
  running = t;
  const address = t.get(httpServerRef).address();
  if (!address) throw new Error("transport-http is not listening");
  return { base: `http://${address.host}:${address.port}`, t };
}

test("GET /hello answers with the configured message", async () => {
  const { base } = await startWith({ message: "Hi from the test" });
  const res = await fetch(`${base}/hello`);
  expect(res.status).toBe(200);
  expect((await res.json()) as HelloResponse).toEqual({ message: "Hi from the test", workspacesCreated: 0 });
});

test("without a `hello` slice the schema default applies", async () => {
  const { base } = await startWith(undefined);
  const body = (await (await fetch(`${base}/hello`)).json()) as HelloResponse;
  expect(body.message).toBe("Hello from an extension!");
});

test("the bus listener sees workspaces created through the API", async () => {
  const { base, t } = await startWith({});
  const created = await fetch(`${base}/workspaces`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id: "hello-demo" }),
  });
  expect(created.status).toBe(201);
  const body = (await (await fetch(`${base}/hello`)).json()) as HelloResponse;
  expect(body.workspacesCreated).toBe(1);
  expect(t.logs.some((r) => r.ext === "hello" && r.workspace === "hello-demo")).toBe(true);
  const health = (await (await fetch(`${base}/health`)).json()) as {
    extensions: Array<{ id: string; state: string; health?: unknown }>;
  };
  expect(health.extensions.find((e) => e.id === "hello")).toMatchObject({
    state: "active",
    health: { workspacesCreated: 1 },
  });
});

test("a misspelt config key stops start-up and names its path", async () => {
  let error: unknown;
  try {
    running = await createTestHost({
      extensions: [...builtinExtensions(), helloExtension],
      config: { server: { port: 0 }, hello: { mesage: "typo" } },
    });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(StartupError);
  expect((error as Error).message).toContain("hello.mesage: unknown key");
});
