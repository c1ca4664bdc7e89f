import { expect, test } from "bun:test";
import { ErrorBody } from "@dispatch/wire";
import fc from "fast-check";
import { startApi } from "./harness.ts";

const REQUESTS = 5000;
const PARALLEL = 16;

const segment = fc.oneof(
  fc.constantFrom("default", "fuzz-ws", "Bad Slug", "..", "%2e%2e", "x".repeat(300), "🙂", "c_nope", "0"),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
);
const path = fc.oneof(
  fc.constantFrom("/", "/health", "/metrics", "/openapi.json", "/providers", "/workspaces"),
  segment.map((s) => `/workspaces/${s}`),
  segment.map((s) => `/workspaces/${s}/star`),
  segment.map((s) => `/workspaces/${s}/conversations`),
  segment.map((s) => `/conversations/${s}`),
  segment.map((s) => `/conversations/${s}/messages`),
  segment.map((s) => `/conversations/${s}/cancel`),
  fc.array(segment, { maxLength: 5 }).map((parts) => `/${parts.join("/")}`),
);
const jsonValue = fc.jsonValue({ maxDepth: 3 });
const body = fc.oneof(
  fc.constant(undefined),
  jsonValue.map((v) => JSON.stringify(v)),
  fc
    .record({ id: segment, name: fc.string({ maxLength: 300 }), root: fc.string(), hostId: fc.string() })
    .map((v) => JSON.stringify(v)),
  fc.record({ text: fc.oneof(fc.string(), fc.constant("")) }).map((v) => JSON.stringify(v)),
  fc.constantFrom("{", "[1,2", "null", '{"id":', "\u0000", "x".repeat(2 * 1024 * 1024)),
  fc.string({ maxLength: 100_000, unit: "binary" }),
);
const request = fc.record({
  method: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"),
  path,
  query: fc.constantFrom("", "?after=abc", "?after=99999999999999999999", "?x=%ZZ"),
  contentType: fc.constantFrom(
    "application/json",
    "text/plain",
    "application/json; charset=utf-8",
    "",
    "multipart/form-data",
  ),
  body,
  header: fc.constantFrom(
    undefined,
    ["last-event-id", "-5"],
    ["authorization", "Bearer x"],
    ["x-junk", "y".repeat(4000)],
  ),
});

test(`a bounded fuzz of ${REQUESTS} requests never gets a 5xx and leaves data intact`, async () => {
  const api = await startApi();
  try {
    await api.client.workspaces.$post({ json: { id: "keep", name: "Keep" } });
    await api.client.workspaces[":id"].star.$put({ param: { id: "keep" } });
    const conv = await (
      await api.client.workspaces[":id"].conversations.$post({ param: { id: "keep" }, json: {} })
    ).json();
    await api.client.conversations[":id"].messages.$post({
      param: { id: conv.id },
      json: { text: "keep me" },
    });
    const before = JSON.stringify(
      await (await api.client.workspaces[":id"].$get({ param: { id: "keep" } })).json(),
    );

    const samples = fc.sample(request, { numRuns: REQUESTS, seed: 4242 });
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < samples.length) {
        const r = samples[next++];
        if (!r) break;
        const headers: Record<string, string> = {};
        if (r.contentType) headers["content-type"] = r.contentType;
        if (r.header) headers[r.header[0]] = r.header[1];
        const withBody = r.body !== undefined && r.method !== "GET" && r.method !== "HEAD";
        const controller = new AbortController();
        const res = await api.fetch(`${r.path}${r.query}`, {
          method: r.method,
          headers,
          body: withBody ? r.body : undefined,
          signal: controller.signal,
        });
        if (res.status >= 500) failures.push(`${r.method} ${r.path} -> ${res.status} ${await res.text()}`);
        else if (res.status >= 400 && r.method !== "HEAD") {
          const parsed = ErrorBody.safeParse(await res.json().catch(() => null));
          if (!parsed.success)
            failures.push(`${r.method} ${r.path} -> ${res.status} without the JSON error body`);
        } else if ((res.headers.get("content-type") ?? "").includes("event-stream")) {
          controller.abort();
        } else {
          await res.arrayBuffer();
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    expect(failures.slice(0, 10)).toEqual([]);

    expect((await api.fetch("/health")).status).toBe(200);
    const after = JSON.stringify(
      await (await api.client.workspaces[":id"].$get({ param: { id: "keep" } })).json(),
    );
    expect(after).toBe(before);
    const messages = await (
      await api.client.conversations[":id"].messages.$get({ param: { id: conv.id } })
    ).json();
    expect(messages.messages[0]?.parts[0]).toEqual({ type: "text", text: "keep me" });
  } finally {
    await api.stop();
  }
}, 120_000);
