import { afterEach, expect, test } from "bun:test";
import { builtinExtensions } from "@dispatch/host-bin";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { httpServerRef } from "@dispatch/transport-http";
import extension, { type StatusResponse } from "../src/index.ts";

// the scaffold names the route and the config key after the id
const id = extension.manifest.id;

let running: TestHost | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

/** The real built-in extensions plus this one, on a free loopback port, in a temp data dir. */
async function start(config: Record<string, unknown> = {}): Promise<string> {
  running = await createTestHost({
    extensions: [...builtinExtensions(), extension],
    config: { server: { port: 0 }, ...config },
  });
  const address = running.get(httpServerRef).address();
  if (!address) throw new Error("transport-http is not listening");
  return `http://${address.host}:${address.port}`;
}

test("GET /<id> answers with the configured greeting", async () => {
  const base = await start({ [id]: { greeting: "Hi from the test" } });
  const res = await fetch(`${base}/${id}`);
  expect(res.status).toBe(200);
  expect((await res.json()) as StatusResponse).toEqual({
    greeting: "Hi from the test",
    workspacesCreated: 0,
  });
});

test("the bus subscription counts workspaces created through the API", async () => {
  const base = await start();
  const created = await fetch(`${base}/workspaces`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id: "demo" }),
  });
  expect(created.status).toBe(201);
  const body = (await (await fetch(`${base}/${id}`)).json()) as StatusResponse;
  expect(body).toEqual({ greeting: "Hello", workspacesCreated: 1 });
});
