import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { AppType } from "@dispatch/transport-http";
import { hc } from "hono/client";
import { cleanup, serveProcess, tempDir, writeConfig } from "./dispatch-process.ts";
import { scriptedConfig } from "./hostile-script.ts";

setDefaultTimeout(60_000);
afterEach(cleanup);

const gatewayKey = "gw-key-value-0123456789abcdef";
const token = "dispatch-token-value-0123456789";
const otherSecret = "other-secret-value-0123456789";

test("a provider key under any name, the token and secret-looking variables: absent from bash's env and /proc/<host>/environ", async () => {
  const config = writeConfig(
    tempDir(),
    scriptedConfig(
      [
        {
          when: "env",
          steps: [
            {
              tool: "bash",
              input: { command: "env; echo HOST-ENVIRON; tr '\\0' '\\n' < /proc/$PPID/environ" },
            },
            { text: "done" },
          ],
        },
      ],
      {
        defaults: { provider: "scripted", model: "demo" },
      },
    ),
  );
  const raw = JSON.parse(readFileSync(config, "utf8"));
  raw.providers.push({
    id: "gateway",
    kind: "openai-compatible",
    baseURL: "http://127.0.0.1:9/v1",
    apiKeyEnv: "LLM_GATEWAY_AUTH",
    maxConcurrent: 1,
  });
  writeConfig(join(config, ".."), raw);
  const { child } = serveProcess({
    config,
    env: { LLM_GATEWAY_AUTH: gatewayKey, DISPATCH_TOKEN: token, OTHER_SERVICE_SECRET: otherSecret },
  });
  const url = await child.url();
  const client = hc<AppType>(url, { headers: { Authorization: `Bearer ${token}` } });

  // The key and the token were read before they were dropped: both still work.
  const providers = await (await client.providers.$get({ query: {} })).json();
  expect(providers.providers.find((p) => p.id === "gateway")?.status).toBe("available");

  const root = join(tempDir(), "ws");
  await client.workspaces.$post({ json: { id: "env", root } });
  const conv = await (
    await client.workspaces[":id"].conversations.$post({ param: { id: "env" }, json: {} })
  ).json();
  expect(
    (await client.conversations[":id"].messages.$post({ param: { id: conv.id }, json: { text: "env" } }))
      .status,
  ).toBe(202);
  let output = "";
  for (let i = 0; i < 400 && output === ""; i++) {
    const messages = await (
      await client.conversations[":id"].messages.$get({ param: { id: conv.id } })
    ).json();
    for (const part of messages.messages.flatMap((m) => m.parts)) {
      if (part.type === "tool-result") output = part.output;
    }
    await Bun.sleep(25);
  }
  expect(output).toContain("PATH=");
  // The host's environ was readable (the same file the test reads below), just without the secrets.
  expect(output.split("HOST-ENVIRON")[1]).toContain("PATH=");
  for (const secret of [gatewayKey, token, otherSecret]) expect(output).not.toContain(secret);

  const environ = readFileSync(`/proc/${child.proc.pid}/environ`, "latin1");
  expect(environ).toContain("PATH=");
  for (const secret of [gatewayKey, token, otherSecret]) expect(environ).not.toContain(secret);
});
