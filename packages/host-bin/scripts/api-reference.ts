/**
 * Renders docs/api.md from the OpenAPI document: every operation with its parameters, an example
 * request (curl) and an example answer made from its schemas. Pure: the same document gives the same
 * text, which is what lets a test hold the committed file to the live document.
 */

type Json = Record<string, unknown>;

const exampleTime = "2026-01-01T12:00:00.000Z";

/** Plausible values by property name, so examples read like real answers. */
const namedExamples: Record<string, unknown> = {
  id: "demo",
  workspaceId: "demo",
  conversationId: "0194d2c4-5a2e-7c1b-9f00-3a1d2b4c5d6e",
  turnId: "0194d2c4-6b3f-7d2c-8e11-4b2e3c5d6e7f",
  messageId: "0194d2c4-6b3f-7d2c-8e11-4b2e3c5d6e80",
  activeTurnId: null,
  toolCallId: "call_1",
  name: "Demo",
  root: "/srv/dispatch/workspaces/demo",
  hostId: null,
  title: "Fix the build",
  provider: "scripted",
  model: "demo",
  runner: "model",
  text: "Hello!",
  spec: "Make the tests pass",
  version: "0.1.0",
  kind: "scripted",
  toolName: "write_file",
  output: "wrote 2 bytes to a.txt",
  message: "what went wrong",
  code: "not_found",
  nextCursor: null,
  reason: "cancelled by the user",
};

/** Follows a local `$ref`. */
function resolve(doc: Json, schema: Json): Json {
  const ref = schema.$ref;
  if (typeof ref !== "string") return schema;
  let node: unknown = doc;
  for (const part of ref.replace(/^#\//, "").split("/")) node = (node as Json)[part];
  return resolve(doc, node as Json);
}

/** An example value for `schema`, preferring a name-based value for a property named `name`. */
export function exampleOf(doc: Json, raw: Json, name?: string, depth = 0): unknown {
  const schema = resolve(doc, raw);
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  const options = (schema.oneOf ?? schema.anyOf) as Json[] | undefined;
  if (options !== undefined) {
    const first = options.find((o) => resolve(doc, o).type !== "null") ?? options[0];
    if (name !== undefined && name in namedExamples && options.some((o) => o.type === "null"))
      return namedExamples[name];
    return first === undefined ? null : exampleOf(doc, first, name, depth + 1);
  }
  if (name !== undefined && name in namedExamples && schema.type !== "object" && schema.type !== "array")
    return namedExamples[name];
  switch (schema.type) {
    case "string":
      return schema.format === "date-time" ? exampleTime : "string";
    case "integer":
    case "number":
      return typeof schema.minimum === "number" && schema.minimum > 0 ? schema.minimum : 1;
    case "boolean":
      return false;
    case "null":
      return null;
    case "array":
      return depth > 6 ? [] : [exampleOf(doc, (schema.items as Json) ?? {}, undefined, depth + 1)];
    case "object": {
      const out: Json = {};
      const properties = (schema.properties ?? {}) as Record<string, Json>;
      const required = new Set((schema.required ?? []) as string[]);
      for (const [key, value] of Object.entries(properties)) {
        // optional fields only near the top, so nested examples stay short
        if (!required.has(key) && depth > 1) continue;
        out[key] = depth > 6 ? {} : exampleOf(doc, value, key, depth + 1);
      }
      return out;
    }
    default:
      return {};
  }
}

const methods = ["get", "post", "put", "patch", "delete"] as const;

/** Every operation of the document as `[method, path, operation]`, in document order. */
export function operationsOf(doc: Json): Array<[string, string, Json]> {
  const out: Array<[string, string, Json]> = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const method of methods) {
      const op = item[method] as Json | undefined;
      if (op !== undefined) out.push([method, path, op]);
    }
  }
  return out;
}

/** The heading of an operation in docs/api.md; the test looks each one up. */
export function headingOf(method: string, path: string): string {
  return `### \`${method.toUpperCase()} ${path}\``;
}

function jsonBlock(value: unknown): string {
  return `\`\`\`json\n${JSON.stringify(value, null, 2)}\n\`\`\``;
}

function curlOf(doc: Json, method: string, path: string, op: Json): string {
  const url = `$DISPATCH_URL${path.replace(/\{(\w+)\}/g, (_m, name: string) => String(namedExamples[name] ?? name))}`;
  const parts = ["curl -sS"];
  if (method !== "get") parts.push(`-X ${method.toUpperCase()}`);
  if (op.security === undefined) parts.push(`-H "Authorization: Bearer $DISPATCH_TOKEN"`);
  const body = op.requestBody as Json | undefined;
  if (body !== undefined) {
    const schema = ((body.content as Json)["application/json"] as Json).schema as Json;
    const example = exampleOf(doc, schema, undefined, 2);
    parts.push(`-H 'content-type: application/json'`, `-d '${JSON.stringify(example)}'`);
  }
  const sse = op.operationId === "streamEvents";
  if (sse) parts.push("-N");
  parts.push(sse ? `"${url}?after=0"` : `"${url}"`);
  return `\`\`\`sh\n${parts.join(" ")}\n\`\`\``;
}

function parameterTable(op: Json): string {
  const params = ((op.parameters ?? []) as Json[]).filter((p) => typeof p.$ref !== "string");
  if (params.length === 0) return "";
  const rows = params.map((p) => {
    const schema = (p.schema ?? {}) as Json;
    const type = typeof schema.type === "string" ? schema.type : Array.isArray(schema.enum) ? "enum" : "";
    const values = Array.isArray(schema.enum) ? ` (${schema.enum.join(", ")})` : "";
    return `| \`${p.name}\` | ${p.in} | ${type}${values} | ${p.required ? "yes" : "no"} | ${String(p.description ?? "").replace(/\|/g, "\\|")} |`;
  });
  return [
    "| parameter | in | type | required | description |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

function answerOf(doc: Json, op: Json): string {
  const responses = op.responses as Record<string, Json>;
  const [status, ok] = Object.entries(responses).find(([s]) => s.startsWith("2")) ?? ["200", {}];
  const content = ok.content as Record<string, Json> | undefined;
  const errors = Object.keys(responses).filter((s) => !s.startsWith("2"));
  const lines = [`Answer **${status}**${content === undefined ? " (no body)" : ""}:`];
  if (content?.["application/json"]) {
    lines.push("", jsonBlock(exampleOf(doc, content["application/json"].schema as Json, undefined, 0)));
  } else if (content?.["text/event-stream"]) {
    const frames = ["turn.started", "text.delta"].map((type, i) => {
      const name = `${type
        .split(".")
        .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
        .join("")}Event`;
      const event = exampleOf(doc, { $ref: `#/components/schemas/${name}` }, undefined, 0) as Json;
      return `id: ${i + 1}\ndata: ${JSON.stringify({ ...event, seq: i + 1 })}\n`;
    });
    lines.push("", `\`\`\`text\n: connected\n\n${frames.join("\n")}\n: heartbeat\n\`\`\``);
  } else if (content !== undefined) {
    lines.push("", `\`${Object.keys(content)[0]}\``);
  }
  lines.push("", `Errors: ${errors.join(", ")} (the body is an [\`Error\`](#errors)).`);
  return lines.join("\n");
}

/** The whole of docs/api.md. */
export function renderApiReference(doc: Json): string {
  const info = doc.info as Json;
  const out: string[] = [
    "# Dispatch HTTP API reference",
    "",
    "<!-- Generated from /openapi.json by `bun run api-docs`; do not edit by hand (a test compares them). -->",
    "",
    `Version ${info.version}. ${info.description}`,
    "",
    "The machine-readable document is [`openapi.json`](openapi.json) (the same as `GET /openapi.json` of a host",
    "with the built-in extensions). In the examples, `DISPATCH_URL` is the host's address",
    "(`http://127.0.0.1:7878` by default) and `DISPATCH_TOKEN` its token; leave the `Authorization` header",
    "out when no token is configured. Example answers are made from the schemas: ids, times and texts are",
    "placeholders.",
    "",
  ];
  const byTag = new Map<string, Array<[string, string, Json]>>();
  for (const entry of operationsOf(doc)) {
    const tag = ((entry[2].tags as string[] | undefined) ?? ["other"])[0] as string;
    byTag.set(tag, [...(byTag.get(tag) ?? []), entry]);
  }
  out.push("| method and path | operationId | summary |", "| --- | --- | --- |");
  for (const [method, path, op] of operationsOf(doc)) {
    out.push(`| \`${method.toUpperCase()} ${path}\` | \`${op.operationId}\` | ${op.summary} |`);
  }
  out.push("");
  for (const [tag, entries] of byTag) {
    out.push(`## ${tag}`, "");
    for (const [method, path, op] of entries) {
      out.push(headingOf(method, path), "", `${op.summary} (\`${op.operationId}\`).`, "");
      if (typeof op.description === "string") out.push(op.description, "");
      if (op.security !== undefined) out.push("Needs no token.", "");
      const table = parameterTable(op);
      if (table !== "") out.push(table, "");
      out.push(curlOf(doc, method, path, op), "", answerOf(doc, op), "");
    }
  }
  const schemas = (doc.components as Json).schemas as Record<string, Json>;
  out.push(
    "## Errors",
    "",
    "Every error answers with this body; `code` says what happened, `message` what to do, and `details`",
    "(when present) which field was wrong. Every answer carries `X-Request-Id`, the id the host's log",
    "lines for that request carry too.",
    "",
    jsonBlock({ error: { code: "not_found", message: 'workspace "nope" does not exist' } }),
    "",
    "| status | meaning |",
    "| --- | --- |",
    ...Object.entries((doc.components as Json).responses as Record<string, Json>).map(
      ([name, response]) => `| ${name} | ${response.description} |`,
    ),
    "",
    "## Conversation events",
    "",
    "`GET /conversations/{id}/events` streams these, discriminated by `type`; `data` may carry more",
    "fields than listed.",
    "",
    "| type | schema | what it means |",
    "| --- | --- | --- |",
  );
  const mapping = ((schemas.ConversationEvent?.discriminator as Json | undefined)?.mapping ?? {}) as Record<
    string,
    string
  >;
  for (const [type, ref] of Object.entries(mapping)) {
    const name = ref.slice(ref.lastIndexOf("/") + 1);
    const schema = schemas[name] ?? {};
    const data = resolve(doc, ((schema.properties as Json).data ?? {}) as Json);
    const fields = Object.keys((data.properties ?? {}) as Json).join(", ");
    out.push(`| \`${type}\` | \`${name}\` (data: ${fields || "—"}) | ${schema.description ?? ""} |`);
  }
  out.push("");
  return out.join("\n");
}
