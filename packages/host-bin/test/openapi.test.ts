import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createServiceRef, defineExtension } from "@dispatch/kernel";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { httpRoutesPoint, httpServerRef } from "@dispatch/transport-http";
import { knownEventTypes } from "@dispatch/wire";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Hono } from "hono";
import ts from "typescript";
import { z } from "zod";
import { staleFiles } from "../scripts/api-docs.ts";
import { builtinExtensions } from "../src/index.ts";

setDefaultTimeout(60_000);

type Json = Record<string, unknown>;

/** An extension adding a route with an unnamed schema, to see contributed routes in the document. */
const extraRoutesRef = createServiceRef<Hono>("extra.routes");
const extraExtension = defineExtension({
  manifest: { id: "extra", version: "0.1.0", extends: ["transport-http"] },
  provides: [extraRoutesRef],
  register(reg) {
    reg.contribute(httpRoutesPoint, {
      path: "/extra",
      routes: reg.provided(extraRoutesRef),
      openapi: [
        {
          method: "get",
          path: "/{name}",
          summary: "An extension's own route",
          ok: { status: 200, schema: z.object({ greeting: z.string() }) },
          errors: [404],
        },
      ],
    });
  },
  activate(ctx) {
    ctx.provide(
      extraRoutesRef,
      new Hono().get("/:name", (c) => c.json({ greeting: c.req.param("name") })),
    );
  },
});

let host: TestHost;
let doc: Json;
let routes: ReadonlyArray<{ method: string; path: string }>;
beforeAll(async () => {
  host = await createTestHost({
    extensions: [...builtinExtensions(), extraExtension],
    config: { server: { port: 0 } },
  });
  const server = host.get(httpServerRef);
  const address = server.address()!;
  doc = (await (await fetch(`http://${address.host}:${address.port}/openapi.json`)).json()) as Json;
  routes = server.routes();
});
afterAll(() => host.stop());

const methods = ["get", "post", "put", "patch", "delete"];
const operations = () =>
  Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
    methods.filter((m) => m in item).map((m) => ({ method: m, path, op: item[m] as Json })),
  );

test("every route the app answers has its entry in /openapi.json, and every entry a route", () => {
  const answered = new Set(
    routes.map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
  );
  const documented = new Set(operations().map((o) => `${o.method} ${o.path}`));
  expect([...answered].filter((r) => !documented.has(r))).toEqual([]);
  expect([...documented].filter((d) => !answered.has(d))).toEqual([]);
  // the contributed routes are there: tasks (a built-in extension) and this test's own
  expect(documented).toContain("post /tasks");
  expect(documented).toContain("get /extra/{name}");
});

test("a real validator accepts the document", async () => {
  const result = await new Validator().validate(doc);
  expect(result).toEqual({ valid: true });
});

test("every operation has a unique operationId, and every body and answer schema is a named component", () => {
  const ids = operations().map((o) => o.op.operationId);
  expect(ids.every((id) => typeof id === "string" && id !== "")).toBe(true);
  expect(new Set(ids).size).toBe(ids.length);
  const schemas = (doc.components as Json).schemas as Json;
  for (const { method, path, op } of operations()) {
    const bodies = [
      ...Object.values(((op.requestBody as Json | undefined)?.content ?? {}) as Record<string, Json>),
      ...Object.values(op.responses as Record<string, Json>).flatMap((r) =>
        Object.values((r.content ?? {}) as Record<string, Json>),
      ),
    ];
    for (const body of bodies) {
      if (body.schema === undefined) continue;
      const ref = (body.schema as Json).$ref;
      expect(typeof ref === "string" ? ref : `${method} ${path}: inline schema`).toStartWith(
        "#/components/schemas/",
      );
      expect(schemas).toHaveProperty(String(ref).slice("#/components/schemas/".length));
    }
  }
  expect(schemas).toHaveProperty("Workspace");
  expect(schemas).toHaveProperty("Task");
  // the extension's unnamed schema is named after its operation
  expect(schemas).toHaveProperty("GetExtraNameResponse");
});

test("servers, the error responses with X-Request-Id, date-time times and /health without security", () => {
  const address = host.get(httpServerRef).address()!;
  expect(doc.servers).toEqual([{ url: `http://${address.host}:${address.port}` }]);
  const components = doc.components as Record<string, Json>;
  for (const { op } of operations()) {
    const responses = op.responses as Json;
    expect(responses["405"]).toEqual({ $ref: "#/components/responses/MethodNotAllowed" });
    expect(responses["500"]).toEqual({ $ref: "#/components/responses/InternalError" });
  }
  const notAllowed = components.responses?.MethodNotAllowed as Json;
  expect(Object.keys(notAllowed.headers as Json)).toEqual(["X-Request-Id", "Allow"]);
  const workspace = components.schemas?.Workspace as { properties: Record<string, Json> };
  expect(workspace.properties.createdAt).toMatchObject({ type: "string", format: "date-time" });
  const health = operations().find((o) => o.path === "/health")?.op;
  expect(health?.security).toEqual([]);
  expect(doc.security).toEqual([{ bearer: [] }]);
  const ok = ((health?.responses ?? {}) as Record<string, Json>)["200"];
  expect(ok?.headers).toEqual({ "X-Request-Id": { $ref: "#/components/headers/XRequestId" } });
});

test("the SSE route documents after, Last-Event-ID and every event type as a discriminated union", () => {
  const sse = operations().find((o) => o.op.operationId === "streamEvents")?.op as Json;
  const params = (sse.parameters as Json[]).filter((p) => p.name !== undefined);
  expect(params.map((p) => [p.name, p.in])).toEqual([
    ["id", "path"],
    ["after", "query"],
    ["Last-Event-ID", "header"],
  ]);
  expect((params[1] as Json).schema).toMatchObject({ type: "integer", minimum: 0 });
  const union = ((doc.components as Json).schemas as Record<string, Json>).ConversationEvent as Json;
  const mapping = (union.discriminator as { propertyName: string; mapping: Record<string, string> }).mapping;
  expect(Object.keys(mapping)).toEqual([...knownEventTypes]);
  expect(mapping["text.delta"]).toBe("#/components/schemas/TextDeltaEvent");
  const delta = ((doc.components as Json).schemas as Record<string, Json>).TextDeltaEvent as {
    properties: Record<string, Json>;
  };
  expect(delta.properties.data).toMatchObject({
    properties: { text: { type: "string" } },
    required: ["text"],
  });
});

test("docs/openapi.json, docs/api.md and the client's generated types are up to date (else: bun run api-docs)", async () => {
  expect(await staleFiles()).toEqual([]);
});

const repoRoot = resolve(import.meta.dir, "../../..");

/**
 * The event types written by code in packages/*\/src: object literals with a dotted string `type` and a
 * `data` property (what a runner or the orchestrator emits), and the final-event table.
 */
function emittedEventTypes(): Map<string, string> {
  const found = new Map<string, string>();
  for (const pkg of readdirSync(join(repoRoot, "packages"))) {
    // The activity feed's entries take the dotted names of the bus events they record
    // (`turn.finished`), but they are not written into any conversation.
    if (pkg === "activity") continue;
    const src = join(repoRoot, "packages", pkg, "src");
    let files: string[];
    try {
      files = readdirSync(src, { recursive: true }) as string[];
    } catch {
      continue;
    }
    for (const file of files.filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))) {
      const path = join(src, file);
      const source = ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, true);
      const visit = (node: ts.Node) => {
        if (ts.isObjectLiteralExpression(node)) {
          const names = node.properties.map((p) => (p.name && ts.isIdentifier(p.name) ? p.name.text : ""));
          for (const p of node.properties) {
            if (!ts.isPropertyAssignment(p) || !ts.isIdentifier(p.name) || !ts.isStringLiteral(p.initializer))
              continue;
            const value = p.initializer.text;
            const dotted = /^[a-z]+(\.[a-z_]+)+$/.test(value);
            if (dotted && p.name.text === "type" && names.includes("data"))
              found.set(value, `${pkg}/src/${file}`);
          }
        }
        if (ts.isVariableDeclaration(node) && node.name.getText() === "finalEventTypes" && node.initializer) {
          for (const literal of node.initializer.getChildren().flatMap((c) => c.getChildren())) {
            if (ts.isPropertyAssignment(literal) && ts.isStringLiteral(literal.initializer))
              found.set(literal.initializer.text, `${pkg}/src/${file}`);
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
  }
  return found;
}

test("every event type a package writes into a conversation has its schema in the event union", () => {
  const emitted = emittedEventTypes();
  // the scan must see the orchestrator's own, or it proves nothing
  for (const type of ["turn.started", "text.delta", "tool.call", "turn.completed", "turn.interrupted"]) {
    expect(emitted.has(type)).toBe(true);
  }
  const missing = [...emitted].filter(([type]) => !(knownEventTypes as string[]).includes(type));
  expect(missing).toEqual([]);
});

test("the README links the generated reference, which has a section for every operation", () => {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  expect(readme).toContain("[`docs/api.md`](docs/api.md)");
  const reference = readFileSync(join(repoRoot, "docs/api.md"), "utf8");
  const missing = operations()
    .filter((o) => !o.path.startsWith("/extra"))
    .filter((o) => !reference.includes(`### \`${o.method.toUpperCase()} ${o.path}\``));
  expect(missing.map((o) => `${o.method} ${o.path}`)).toEqual([]);
});
