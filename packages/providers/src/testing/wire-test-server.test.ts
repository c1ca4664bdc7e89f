import { afterEach, expect, test } from "bun:test";
import { textScenario, toolScenario } from "./scenario.ts";
import { startAnthropicTestServer, startOpenAITestServer, type WireTestServer } from "./wire-test-server.ts";

const servers: WireTestServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop();
});

function started(server: WireTestServer): WireTestServer {
  servers.push(server);
  return server;
}

async function post(server: WireTestServer, path: string, body: unknown = { model: "m" }): Promise<Response> {
  return fetch(`${server.baseURL}${path}`, { method: "POST", body: JSON.stringify(body) });
}

function events(text: string): string[] {
  return [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1] ?? "");
}

test("the Anthropic server speaks Messages SSE: message_start, blocks with text and input_json deltas, message_delta, message_stop", async () => {
  const server = started(startAnthropicTestServer());
  server.enqueue({
    stream: [{ text: "Hi" }, { tool: { id: "t1", name: "grep", args: '{"a":1}', pieces: 2 } }],
  });
  const response = await post(server, "/messages");
  expect(response.headers.get("content-type")).toBe("text/event-stream");
  const text = await response.text();
  expect(events(text)).toEqual([
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "content_block_start",
    "content_block_delta",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
  ]);
  expect(text).toContain('"type":"text_delta","text":"Hi"');
  expect(text).toContain('"type":"input_json_delta","partial_json":"{\\"a\\""');
  expect(text).toContain('"stop_reason":"tool_use"');
});

test("the OpenAI server speaks chat-completions chunks ending in a usage chunk and [DONE]", async () => {
  const server = started(startOpenAITestServer());
  server.enqueue({
    ...toolScenario([{ name: "grep", input: { a: 1 }, id: "t1" }]),
    usage: { input: 3, output: 4 },
  });
  const text = await (await post(server, "/chat/completions")).text();
  const data = [...text.matchAll(/^data: (.+)$/gm)].map((m) => m[1] ?? "");
  expect(data.at(-1)).toBe("[DONE]");
  const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
  expect(chunks[1].choices[0].delta.tool_calls[0]).toEqual({
    index: 0,
    id: "t1",
    type: "function",
    function: { name: "grep", arguments: "" },
  });
  expect(chunks.at(-2).choices[0].finish_reason).toBe("tool_calls");
  expect(chunks.at(-1).usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
});

test("scenarios are used one per request, then the responder; requests are recorded", async () => {
  const server = started(startOpenAITestServer());
  server.enqueue({ status: 429, headers: { "retry-after": "1" } }, textScenario("ok"));
  const first = await post(server, "/chat/completions", { model: "m", n: 1 });
  expect(first.status).toBe(429);
  expect(first.headers.get("retry-after")).toBe("1");
  expect(await first.json()).toMatchObject({ error: { type: "rate_limit_exceeded" } });
  expect((await post(server, "/chat/completions")).status).toBe(200);
  const unscripted = await post(server, "/chat/completions");
  expect(unscripted.status).toBe(500);
  expect(await unscripted.text()).toContain("no scenario queued for request 2");
  server.setResponder(() => ({ status: 503 }));
  expect((await post(server, "/chat/completions")).status).toBe(503);
  expect(server.requests.map((r) => r.path)).toEqual(Array(4).fill("/v1/chat/completions"));
  expect(server.requests[0]?.body).toEqual({ model: "m", n: 1 });
  expect((await post(server, "/elsewhere")).status).toBe(404);
});

test("stop() ends a hanging answer", async () => {
  const server = startAnthropicTestServer();
  server.enqueue({ stream: [{ text: "a" }, { hang: true }] });
  const response = await post(server, "/messages");
  const reading = response.text().then(
    () => "ended",
    () => "ended",
  );
  await server.stop();
  expect(await reading).toBe("ended");
});

test("inFlight counts answers from arrival to their end, and maxInFlight the most at once", async () => {
  const server = started(startOpenAITestServer());
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  server.setResponder(() => ({ stream: [{ text: "a" }, { gate }, { text: "b" }] }));
  const answers = [post(server, "/chat/completions"), post(server, "/chat/completions")];
  await server.waitForRequest(1);
  expect(server.inFlight).toBe(2);
  open();
  await Promise.all(answers.map(async (answer) => (await answer).text()));
  server.enqueue({ status: 429, error: { type: "rate_limit", message: "slow down" } });
  await (await post(server, "/chat/completions")).text();
  expect(server.inFlight).toBe(0);
  expect(server.maxInFlight).toBe(2);
});
