import { afterAll, afterEach, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { cleanup, serveProcess, tempDir, writeConfig } from "./dispatch-process.ts";

// builds the client, runs npm, tsc and node: real processes, several seconds each on a busy machine
setDefaultTimeout(180_000);
afterEach(cleanup);

const repoRoot = resolve(import.meta.dir, "../../..");
const clientDir = join(repoRoot, "packages/client");
const tsc = Bun.resolveSync("typescript/bin/tsc", import.meta.dir);

async function run(cmd: string[], cwd: string, env: Record<string, string> = {}) {
  const proc = Bun.spawn(cmd, { cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { stdout, stderr, code };
}

/** A folder outside the repo with the built client installed by npm, as a user would have it. */
let project: string;
beforeAll(async () => {
  const build = await run([process.execPath, "run", "build"], clientDir);
  expect(build.code, build.stderr + build.stdout).toBe(0);
  project = mkdtempSync(join(tmpdir(), "dispatch-client-user-"));
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "user", private: true, type: "module" }),
  );
  // a plain tsconfig: nothing of this repo's settings, no Bun types, checks the .mjs scripts node runs
  writeFileSync(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "es2022",
        module: "nodenext",
        strict: true,
        allowJs: true,
        checkJs: true,
        noEmit: true,
      },
      include: ["main.mjs"],
    }),
  );
  const npm = await run(["npm", "install", "--no-audit", "--no-fund", "--offline", clientDir], project);
  expect(npm.code, npm.stderr).toBe(0);
});

afterAll(() => rmSync(project, { recursive: true, force: true }));

const mainScript = (url: string) => `// @ts-check
import { createClient, DispatchApiError, isFinalEvent } from "@dispatch/client";

const client = createClient({ baseUrl: "${url}" });
const ws = await client.workspaces.create({ id: "from-node", name: "From Node" });
const conversation = await client.conversations.create(ws.id, { title: "a first turn" });
const sent = await client.conversations.send(conversation.id, "build it");
if (!("turnId" in sent)) throw new Error("expected a turn to start");

/** @type {string[]} */
const types = [];
let text = "";
for await (const event of client.conversations.events(conversation.id)) {
  types.push(event.type);
  if (event.type === "text.delta") text += event.data.text;
  if (event.type === "tool.result") types.push(event.data.toolName + (event.data.isError ? ":error" : ":ok"));
  if (isFinalEvent(event) && event.turnId === sent.turnId) break;
}
let missing = "";
try {
  await client.workspaces.get("no-such-workspace");
} catch (error) {
  if (!(error instanceof DispatchApiError)) throw error;
  missing = error.status + " " + error.code;
}
console.log(JSON.stringify({ workspace: ws.id, starred: ws.starred, types, text, missing }));
`;

test("a Node project outside the repo installs the built client with npm, type-checks with a plain tsconfig and runs a turn to completion", async () => {
  const config = writeConfig(tempDir(), {
    providers: [
      {
        id: "scripted",
        kind: "scripted",
        maxConcurrent: 1,
        script: {
          replies: [
            {
              when: "build",
              steps: [
                { tool: "write_file", input: { path: "a.txt", content: "hi" } },
                { text: "Built it.", chunks: 3 },
              ],
            },
          ],
        },
      },
    ],
  });
  const { child } = serveProcess({ config });
  const url = await child.url();
  writeFileSync(join(project, "main.mjs"), mainScript(url));
  const check = await run([process.execPath, tsc, "--noEmit", "-p", "."], project);
  expect(check.stdout + check.stderr).toBe("");
  expect(check.code).toBe(0);
  const node = await run(["node", "main.mjs"], project);
  expect(node.stderr).toBe("");
  expect(node.code).toBe(0);
  const out = JSON.parse(node.stdout);
  expect(out).toMatchObject({
    workspace: "from-node",
    starred: false,
    text: "Built it.",
    missing: "404 not_found",
  });
  expect(out.types[0]).toBe("turn.started");
  expect(out.types).toContain("write_file:ok");
  expect(out.types.at(-1)).toBe("turn.completed");
});

test("the installed types catch a wrong call: tsc fails on a missing field and on a misused event payload", async () => {
  writeFileSync(
    join(project, "main.mjs"),
    `// @ts-check
import { createClient } from "@dispatch/client";
const client = createClient({ baseUrl: "http://127.0.0.1:1" });
await client.workspaces.create({ name: "no id" });
for await (const event of client.conversations.events("c")) {
  if (event.type === "text.delta") console.log(event.data.text.toFixed(1));
}
`,
  );
  const check = await run([process.execPath, tsc, "--noEmit", "-p", "."], project);
  expect(check.code).not.toBe(0);
  expect(check.stdout).toContain("Property 'id' is missing");
  // narrowed on `type`, the delta's text is a string
  expect(check.stdout).toContain("Property 'toFixed' does not exist on type 'string'");
});
