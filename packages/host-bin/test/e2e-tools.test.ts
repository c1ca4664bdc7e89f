import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { apiClient, startTurn, waitForTurnEnd } from "./api-client.ts";
import { cleanup, serveProcess, tempDir, writeConfig } from "./dispatch-process.ts";

setDefaultTimeout(60_000);
afterEach(cleanup);

test("through bin/dispatch serve, a scripted turn writes a file, reads it back and runs bash in the workspace", async () => {
  const config = writeConfig(tempDir(), {
    providers: [
      {
        id: "scripted",
        kind: "scripted",
        maxConcurrent: 2,
        script: {
          replies: [
            {
              when: "build",
              steps: [
                { tool: "write_file", input: { path: "notes/hello.txt", content: "hi from the tools\n" } },
                { tool: "read_file", input: { path: "notes/hello.txt" } },
                { tool: "bash", input: { command: "wc -c notes/hello.txt > size.txt && echo bash-ran" } },
                { text: "All done." },
              ],
            },
          ],
        },
      },
    ],
  });
  const { child } = serveProcess({ config });
  const url = await child.url();
  const client = apiClient(url);
  const root = join(tempDir(), "project");
  await client.workspaces.$post({ json: { id: "proj", root } });

  const conversationId = await startTurn(url, "proj", "build it");
  expect(await waitForTurnEnd(url, conversationId)).toBe("completed");

  expect(readFileSync(join(root, "notes/hello.txt"), "utf8")).toBe("hi from the tools\n");
  expect(existsSync(join(root, "size.txt"))).toBe(true);
  expect(readFileSync(join(root, "size.txt"), "utf8").trim()).toBe("18 notes/hello.txt");

  const messages = await (
    await client.conversations[":id"].messages.$get({ param: { id: conversationId } })
  ).json();
  const results = messages.messages
    .flatMap((m) => m.parts)
    .filter((p) => p.type === "tool-result")
    .map((p) => (p.type === "tool-result" ? [p.toolName, p.isError, p.output] : []));
  expect(results.map((r) => r.slice(0, 2))).toEqual([
    ["write_file", false],
    ["read_file", false],
    ["bash", false],
  ]);
  expect(String(results[1]?.[2])).toContain("hi from the tools");
  expect(String(results[2]?.[2])).toContain("bash-ran");

  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(10_000)).toBe(0);
});
