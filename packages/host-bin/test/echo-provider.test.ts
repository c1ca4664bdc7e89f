import { Database } from "bun:sqlite";
import { afterEach, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { databaseFileName } from "@dispatch/conversation-store";
import { linkExtension } from "../src/link-extension.ts";
import { templateDir } from "../src/new-extension.ts";
import { apiClient, readEvents, waitForTurnEnd } from "./api-client.ts";
import {
  cleanup,
  DispatchProcess,
  dispatchBin,
  pathWithoutBun,
  serveProcess,
  tempDir,
  writeConfig,
} from "./dispatch-process.ts";

// each test starts real processes; on a busy machine that takes more than the default 5 s
setDefaultTimeout(60_000);
afterEach(cleanup);

const echoEntry = resolve(import.meta.dir, "../../../examples/echo-provider/src/index.ts");
const echoDir = dirname(dirname(echoEntry));
// the example resolves @dispatch/* like an outside extension: through links `dispatch test` also makes
beforeAll(() => linkExtension(echoDir));

/** A config loading the echo example (relative to the config file) with an echo provider. */
function echoConfig(dir: string, echo: Record<string, unknown>): string {
  return writeConfig(dir, {
    extensions: { paths: [relative(dir, echoEntry)] },
    providers: [
      { id: "scripted", kind: "scripted" },
      { id: "parrot", kind: "echo", ...echo },
    ],
  });
}

/** Creates a conversation on the echo provider, posts `text`, waits for the turn; returns the conversation id. */
async function echoTurn(url: string, text: string): Promise<string> {
  const client = apiClient(url);
  const created = await client.workspaces[":id"].conversations.$post({
    param: { id: "default" },
    json: { provider: "parrot" },
  });
  expect(created.status).toBe(201);
  const conversation = await created.json();
  expect(conversation.provider).toBe("parrot");
  const posted = await client.conversations[":id"].messages.$post({
    param: { id: conversation.id },
    json: { text },
  });
  expect(posted.status).toBe(202);
  expect(await waitForTurnEnd(url, conversation.id)).toBe("completed");
  return conversation.id;
}

/** The echo extension's call counts, as `/health` shows them. */
async function healthCalls(url: string): Promise<unknown> {
  const health = (await (await fetch(`${url}/health`)).json()) as {
    extensions: Array<{ id: string; state: string; health?: { calls?: unknown } }>;
  };
  const echo = health.extensions.find((e) => e.id === "echo");
  expect(echo?.state).toBe("active");
  return echo?.health?.calls;
}

test("a provider of the contributed kind echo completes turns through the HTTP API; its count table survives a restart", async () => {
  const dir = tempDir();
  const config = echoConfig(dir, { prefix: "echo: ", chunks: 3 });
  const first = serveProcess({ config });
  const url = await first.child.url();

  const providers = await (await apiClient(url).providers.$get()).json();
  expect(providers.providers.map((p) => [p.id, p.kind, p.status])).toEqual([
    ["scripted", "scripted", "available"],
    ["parrot", "echo", "available"],
  ]);

  const conversationId = await echoTurn(url, "hello there");
  const messages = await (
    await apiClient(url).conversations[":id"].messages.$get({ param: { id: conversationId } })
  ).json();
  expect(messages.messages.map((m) => [m.role, m.parts])).toEqual([
    ["user", [{ type: "text", text: "hello there" }]],
    ["assistant", [{ type: "text", text: "echo: hello there" }]],
  ]);
  const events = await readEvents(url, conversationId, (e) => e.at(-1)?.type === "turn.completed");
  const streamed = events.filter((e) => e.type === "text.delta").map((e) => e.data.text);
  expect(streamed.join("")).toBe("echo: hello there");
  await echoTurn(url, "once more");
  expect(await healthCalls(url)).toEqual({ parrot: 2 });

  first.child.proc.kill("SIGTERM");
  expect(await first.child.exitWithin(10_000)).toBe(0);
  // the counts are rows of the extension's own table in the one database file
  const db = new Database(join(first.dataDir, databaseFileName), { readonly: true });
  expect(db.query("SELECT provider_id, calls FROM echo_calls").all()).toEqual([
    { provider_id: "parrot", calls: 2 },
  ]);
  db.close();

  const second = new DispatchProcess([
    "serve",
    "--config",
    config,
    "--data-dir",
    first.dataDir,
    "--port",
    "0",
  ]);
  const url2 = await second.url();
  expect(await healthCalls(url2)).toEqual({ parrot: 2 });
  await echoTurn(url2, "after the restart");
  expect(await healthCalls(url2)).toEqual({ parrot: 3 });
  second.proc.kill("SIGTERM");
  expect(await second.exitWithin(10_000)).toBe(0);
});

test("a bad option of kind echo makes bin/dispatch serve exit 2 naming its JSON path", async () => {
  const dir = tempDir();
  const config = echoConfig(dir, { chunks: 0, temperature: 0.7 });
  const child = new DispatchProcess(["serve", "--config", config, "--data-dir", dir, "--port", "0"]);
  expect(await child.exitWithin(15_000)).toBe(2);
  expect(child.stderr.trim().split("\n")).toEqual([
    "config error: providers[1].chunks: Too small: expected number to be >=1",
    "config error: providers[1].temperature: unknown key",
  ]);
});

test("the example is laid out as the scaffold makes one, passes `dispatch test` and type-checks alone", async () => {
  const scaffold = (file: string) => readFileSync(join(templateDir, file), "utf8");
  expect(readFileSync(join(echoDir, "package.json"), "utf8")).toBe(
    scaffold("package.json").replaceAll("__ID__", "echo-provider"),
  );
  expect(readFileSync(join(echoDir, "tsconfig.json"), "utf8")).toBe(scaffold("tsconfig.json"));

  // its own tests run the way its author runs them: bin/dispatch, with no bun on PATH
  const run = new DispatchProcess(["test", echoDir], { PATH: pathWithoutBun() }, echoDir, [dispatchBin]);
  expect(await run.exitWithin(180_000), run.stdout + run.stderr).toBe(0);
  expect(run.stderr).toContain("3 pass");

  const tsc = Bun.spawn(
    [process.execPath, join(echoDir, "node_modules/.bin/tsc"), "--noEmit", "-p", echoDir],
    {
      cwd: echoDir,
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const [code, out, err] = await Promise.all([
    tsc.exited,
    new Response(tsc.stdout).text(),
    new Response(tsc.stderr).text(),
  ]);
  expect(out + err).toBe("");
  expect(code).toBe(0);
}, 240_000);
