import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { startOpenAITestServer, textScenario, type WireTestServer } from "@dispatch/providers/testing";
import { apiClient, readEvents, startTurn, waitForTurnEnd } from "./api-client.ts";
import { cleanup, serveProcess, tempDir, writeConfig } from "./dispatch-process.ts";

setDefaultTimeout(60_000);
let server: WireTestServer | undefined;
afterEach(async () => {
  cleanup();
  await server?.stop();
  server = undefined;
});

test("bin/dispatch serve completes a real turn through an openai-compatible provider on a local server", async () => {
  server = startOpenAITestServer();
  server.enqueue(textScenario("Hello from the local model.", 5));
  const config = writeConfig(tempDir(), {
    providers: [
      { id: "local", kind: "openai-compatible", baseURL: server.baseURL, models: ["tiny"], maxConcurrent: 1 },
    ],
    defaults: { provider: "local", model: "tiny" },
  });
  const { child } = serveProcess({ config });
  const url = await child.url();

  const conversationId = await startTurn(url, "default", "say hello");
  expect(await waitForTurnEnd(url, conversationId)).toBe("completed");
  const messages = await (
    await apiClient(url).conversations[":id"].messages.$get({ param: { id: conversationId } })
  ).json();
  expect(messages.messages.map((m) => m.role)).toEqual(["user", "assistant"]);
  expect(messages.messages[1]?.parts).toEqual([{ type: "text", text: "Hello from the local model." }]);

  // The provider got a real chat-completions request for the configured model, with the user's text.
  const request = await server.waitForRequest(0);
  expect(request.path).toBe("/v1/chat/completions");
  expect(JSON.stringify(request.body)).toContain("say hello");
  expect((request.body as { model: string; stream: boolean }).model).toBe("tiny");

  const events = await readEvents(url, conversationId, (e) => e.at(-1)?.type === "turn.completed");
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  const providers = await (await apiClient(url).providers.$get()).json();
  expect(providers.providers.map((p) => [p.id, p.kind, p.status, p.inFlight])).toEqual([
    ["local", "openai-compatible", "available", 0],
  ]);

  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(10_000)).toBe(0);
});
