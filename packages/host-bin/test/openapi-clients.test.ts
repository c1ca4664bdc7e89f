import { afterAll, afterEach, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createClient, DispatchApiError } from "@dispatch/client";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import openapiTS, { astToString, type OpenAPI3 } from "openapi-typescript";
import { cleanup, serveProcess, tempDir, writeConfig } from "./dispatch-process.ts";

// real processes (the host, tsc); seconds each on a busy machine
setDefaultTimeout(120_000);
afterEach(cleanup);

type Json = Record<string, unknown>;

const scripted = {
  id: "scripted",
  kind: "scripted",
  maxConcurrent: 1,
  script: {
    replies: [
      { when: "^stall", steps: [{ text: "thinking", chunks: 2, delayMs: 60_000 }] },
      {
        when: "build",
        steps: [
          { tool: "write_file", input: { path: "a.txt", content: "hi" } },
          { text: "Built.", chunks: 2 },
        ],
      },
    ],
    fallback: { steps: [{ text: "Hello from the scripted provider." }] },
  },
};

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "dispatch-openapi-clients-"));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Every call through openapi-fetch, one per route of the document (the test checks that). */
const calls = `import createClient from "openapi-fetch";
import type { components, paths } from "./api.ts";

type Workspace = components["schemas"]["Workspace"];
type Event = components["schemas"]["ConversationEvent"];

const api = createClient<paths>({ baseUrl: "http://127.0.0.1:7878" });
const id = { params: { path: { id: "demo" } } };

export async function everyRoute(): Promise<Workspace | undefined> {
  await api.GET("/health");
  await api.GET("/metrics");
  await api.GET("/openapi.json");
  const listed = await api.GET("/workspaces");
  const first: Workspace | undefined = listed.data?.workspaces[0];
  await api.POST("/workspaces", { body: { id: "demo", name: "Demo" } });
  await api.GET("/workspaces/{id}", id);
  await api.PATCH("/workspaces/{id}", { ...id, body: { name: "Renamed" } });
  await api.DELETE("/workspaces/{id}", id);
  await api.PUT("/workspaces/{id}/star", id);
  await api.DELETE("/workspaces/{id}/star", id);
  await api.GET("/workspaces/{id}/conversations", id);
  const conv = await api.POST("/workspaces/{id}/conversations", { ...id, body: { title: "t" } });
  const status: components["schemas"]["Conversation"]["status"] | undefined = conv.data?.status;
  await api.GET("/conversations/{id}", id);
  await api.GET("/conversations/{id}/messages", id);
  const sent = await api.POST("/conversations/{id}/messages", { ...id, body: { text: "hi" } });
  if (sent.error) console.log(sent.error.error.code);
  await api.POST("/conversations/{id}/cancel", id);
  await api.GET("/conversations/{id}/events", {
    params: { path: { id: "c" }, query: { after: 41 }, header: { "Last-Event-ID": "41" } },
    parseAs: "stream",
  });
  await api.GET("/providers");
  await api.GET("/tasks", { params: { query: { status: "queued", limit: 10 } } });
  await api.POST("/tasks", { body: { workspaceId: "demo", spec: "do it" } });
  await api.GET("/tasks/{id}", id);
  await api.DELETE("/tasks/{id}", id);
  await api.POST("/tasks/{id}/cancel", id);
  await api.POST("/tasks/{id}/retry", id);
  await api.POST("/workspaces/{id}/tasks/resume", id);
  await api.GET("/agents");
  await api.POST("/conversations/{id}/input", { ...id, body: { text: "y" } });
  await api.POST("/conversations/{id}/approvals/{toolCallId}", {
    params: { path: { id: "demo", toolCallId: "call_1" } },
    body: { decision: "allow", remember: true },
  });
  await api.GET("/worktrees");
  await api.GET("/worktrees/{id}", id);
  await api.POST("/worktrees/{id}/push", id);
  await api.GET("/usage", { params: { query: { groupBy: "model" } } });
  await api.GET("/");
  await api.GET("/auth/session");
  await api.POST("/auth/session", { body: { token: "0123456789abcdef" } });
  await api.DELETE("/auth/session");
  await api.GET("/telemetry/memory");
  const feed = await api.GET("/activity", { params: { query: { limit: 5 } } });
  const newest: string | null | undefined = feed.data?.lastId;
  await api.GET("/activity/stream", { params: { query: { after: "m3x9k2.17" } }, parseAs: "stream" });
  await api.GET("/dashboard");
  await api.GET("/dashboard/assets/{name}", { params: { path: { name: "index-abc.js" } } });
  void newest;
  void status;
  return first;
}

export function narrow(event: Event): string {
  return event.type === "text.delta" ? event.data.text : event.type;
}

export async function wrongCalls() {
  // @ts-expect-error after is a number
  await api.GET("/conversations/{id}/events", { params: { path: { id: "c" }, query: { after: "x" } } });
  // @ts-expect-error a workspace needs its id
  await api.POST("/workspaces", { body: { name: "no id" } });
  // @ts-expect-error no such route
  await api.GET("/workspace");
}
`;

test("a client generated by openapi-typescript from the live /openapi.json type-checks a call to every route", async () => {
  const config = writeConfig(tempDir(), { providers: [scripted] });
  const { child } = serveProcess({ config });
  const url = await child.url();
  const doc = (await (await fetch(`${url}/openapi.json`)).json()) as Json;
  writeFileSync(join(scratch, "api.ts"), astToString(await openapiTS(doc as unknown as OpenAPI3)));
  writeFileSync(join(scratch, "calls.ts"), calls);

  const called = new Set(
    [...calls.matchAll(/api\.(GET|POST|PUT|PATCH|DELETE)\("([^"]+)"/g)].map((m) => `${m[1]} ${m[2]}`),
  );
  const documented = Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
    Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
  );
  expect(documented.filter((route) => !called.has(route))).toEqual([]);

  const fetchTypes = dirname(Bun.resolveSync("openapi-fetch", import.meta.dir));
  writeFileSync(
    join(scratch, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "es2022",
        module: "preserve",
        moduleResolution: "bundler",
        strict: true,
        noEmit: true,
        allowImportingTsExtensions: true,
        types: [],
        lib: ["es2022", "dom"],
        paths: { "openapi-fetch": [join(fetchTypes, "index.d.mts")] },
      },
      files: ["calls.ts"],
    }),
  );
  const tsc = Bun.spawn(
    [process.execPath, Bun.resolveSync("typescript/bin/tsc", import.meta.dir), "-p", scratch],
    {
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const output = await new Response(tsc.stdout).text();
  expect(output).toBe("");
  expect(await tsc.exited).toBe(0);
});

/** A response as the recording fetch saw it. */
interface Recorded {
  method: string;
  path: string;
  status: number;
  contentType: string;
  body: string;
}

/** Finds the operation a request matched: its path template, method and documented response. */
function responseSchemaOf(doc: Json, r: Recorded): Json | undefined {
  const paths = doc.paths as Record<string, Record<string, Json>>;
  const template = Object.keys(paths).find((p) =>
    new RegExp(`^${p.replace(/\{\w+\}/g, "[^/]+").replace(/\./g, "\\.")}$`).test(r.path),
  );
  const op = template === undefined ? undefined : paths[template]?.[r.method.toLowerCase()];
  // a method the path does not have: the shared 405 answer, which no operation can list
  const missing = { "405": { $ref: "#/components/responses/MethodNotAllowed" } };
  if (op === undefined && (template === undefined || r.status !== 405)) return undefined;
  let response = ((op?.responses ?? missing) as Record<string, Json>)[String(r.status)];
  const ref = response?.$ref;
  if (typeof ref === "string")
    response = ((doc.components as Json).responses as Record<string, Json>)[ref.split("/").at(-1) as string];
  const content = (response?.content ?? {}) as Record<string, Json>;
  const media = r.contentType.startsWith("text/event-stream")
    ? "text/event-stream"
    : r.contentType.startsWith("text/plain")
      ? "text/plain"
      : "application/json";
  return (content[media]?.schema as Json | undefined) ?? (response === undefined ? undefined : {});
}

/** `discriminator.mapping` is OpenAPI's, not JSON Schema's; ajv refuses it, and `oneOf` decides anyway. */
function withoutDiscriminators(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDiscriminators);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== "discriminator")
      .map(([key, item]) => [key, withoutDiscriminators(item)]),
  );
}

test("every response of a scripted run, SSE events included, validates against the document's schemas (ajv)", async () => {
  const config = writeConfig(tempDir(), { providers: [scripted], tasks: { tickMs: 50 } });
  const { child } = serveProcess({ config });
  const url = await child.url();
  const recorded: Recorded[] = [];
  const recordingFetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const res = await fetch(input, init);
    const u = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
    const contentType = res.headers.get("content-type") ?? "";
    const entry = {
      method: init?.method ?? "GET",
      path: u.pathname,
      status: res.status,
      contentType,
      body: "",
    };
    recorded.push(entry);
    if (contentType.startsWith("text/event-stream") || res.body === null) return res;
    entry.body = await res.clone().text();
    return res;
  }) as typeof fetch;
  const client = createClient({ baseUrl: url, fetch: recordingFetch });
  const errors: string[] = [];
  const expectError = async (call: Promise<unknown>, code: string) => {
    try {
      await call;
      errors.push(`expected ${code}`);
    } catch (error) {
      if (!DispatchApiError.isInstance(error) || error.code !== code)
        errors.push(`expected ${code}: ${error}`);
    }
  };

  await client.health();
  await client.metrics();
  await client.openapi();
  const ws = await client.workspaces.create({ id: "run", name: "Run" });
  await expectError(client.workspaces.create({ id: "run" }), "conflict");
  await expectError(
    client.request({ method: "POST", path: "/workspaces", body: { id: "Bad Id" } }),
    "invalid_request",
  );
  await client.workspaces.update(ws.id, { name: "Run 2" });
  await client.workspaces.star(ws.id);
  await client.workspaces.list();
  await client.workspaces.unstar(ws.id);
  await client.workspaces.get(ws.id);
  await expectError(client.workspaces.get("missing"), "not_found");
  await expectError(client.request({ method: "PUT", path: "/workspaces" }), "method_not_allowed");

  const conv = await client.conversations.create(ws.id, { title: "build" });
  const sent = await client.conversations.send(conv.id, "build it");
  const events: unknown[] = [];
  for await (const event of client.conversations.events(conv.id)) {
    events.push(event);
    if (event.type === "turn.completed") break;
  }
  await client.conversations.send(conv.id, "stall here");
  await expectError(client.conversations.send(conv.id, "again"), "conversation_busy");
  await client.conversations.send(conv.id, { text: "later", queue: true });
  await client.conversations.cancel(conv.id);
  for await (const event of client.conversations.events(conv.id, { after: events.length })) {
    events.push(event);
    if (event.type === "turn.cancelled") break;
  }
  await client.conversations.get(conv.id);
  await client.conversations.messages(conv.id);
  await client.conversations.list(ws.id);
  await client.providers.list();

  const task = await client.tasks.create({ workspaceId: ws.id, spec: "stall forever", title: "stuck one" });
  await client.tasks.list({ status: "queued" });
  await client.tasks.get(task.id);
  await client.tasks.cancel(task.id);
  await client.tasks.retry(task.id);
  await client.tasks.cancel(task.id);
  await client.tasks.delete(task.id);
  await client.tasks.resume(ws.id);
  await client.workspaces.delete("run").catch(() => client.workspaces.delete("run"));
  expect(errors).toEqual([]);
  expect("turnId" in sent).toBe(true);

  const doc = withoutDiscriminators(await client.openapi()) as Json;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: "dispatch.json", components: (doc as Json).components }, "dispatch.json");
  const check = (schema: Json, value: unknown, what: string) => {
    const validate = ajv.compile({ $id: `check-${Math.random()}`, ...rewriteRefs(schema) });
    if (!validate(value)) failures.push(`${what}: ${ajv.errorsText(validate.errors)}`);
  };
  const failures: string[] = [];
  const unmatched: string[] = [];
  for (const r of recorded) {
    const schema = responseSchemaOf(doc, r);
    const what = `${r.method} ${r.path} ${r.status}`;
    if (schema === undefined) {
      unmatched.push(what);
      continue;
    }
    if (r.contentType.startsWith("application/json")) check(schema, JSON.parse(r.body), what);
    else if (r.contentType.startsWith("text/plain")) check(schema, r.body, what);
  }
  const eventSchema = { $ref: "#/components/schemas/ConversationEvent" };
  for (const event of events) check(eventSchema, event, `event ${(event as Json).type}`);
  expect(unmatched).toEqual([]);
  expect(failures).toEqual([]);
  // the checks can fail: a workspace without its fields, an event of a known type with a wrong payload
  check({ $ref: "#/components/schemas/Workspace" }, { id: "x" }, "probe workspace");
  check(
    eventSchema,
    { seq: 1, type: "text.delta", turnId: null, at: "2026-01-01T00:00:00Z", data: {} },
    "probe event",
  );
  expect(failures.map((f) => f.split(":")[0])).toEqual(["probe workspace", "probe event"]);
  const statuses = new Set(recorded.map((r) => r.status));
  for (const status of [200, 201, 202, 204, 400, 404, 405, 409]) expect(statuses).toContain(status);
  const types = new Set(events.map((e) => (e as Json).type));
  for (const type of [
    "turn.started",
    "step.started",
    "text.delta",
    "tool.call",
    "tool.result",
    "turn.completed",
    "turn.cancelled",
  ])
    expect(types).toContain(type);
});

/** Points a response's local refs (`#/components/...`) at the document added to ajv. */
function rewriteRefs(value: Json): Json {
  return JSON.parse(
    JSON.stringify(value).replaceAll('"#/components/', '"dispatch.json#/components/'),
  ) as Json;
}
