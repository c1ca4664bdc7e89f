import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ApiHarness, startApi } from "./harness.ts";

let api: ApiHarness;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api.stop();
});

/** The value of one series of `/metrics`, or undefined when the series is not there. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

describe("request metrics", () => {
  test("a 404 from an existing route is labelled with that route; only paths no route matches are (unmatched)", async () => {
    const conv = await (
      await api.client.workspaces[":id"].conversations.$post({ param: { id: "default" }, json: {} })
    ).json();
    const calls: Array<[string, string, number]> = [
      ["GET", "/workspaces/missing", 404],
      ["GET", "/conversations/c_missing", 404],
      ["PATCH", "/workspaces/missing", 404],
      ["PUT", "/workspaces/missing/star", 404],
      ["DELETE", "/workspaces/missing", 404],
      ["GET", `/conversations/${conv.id}`, 200],
      ["GET", "/no/such/path", 404],
      ["GET", "/workspaces/a/b/c/d", 404],
    ];
    for (const [method, path, status] of calls) {
      const res = await api.fetch(path, {
        method,
        ...(method === "PATCH"
          ? { headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "x" }) }
          : {}),
      });
      await res.body?.cancel();
      expect(`${method} ${path} ${res.status}`).toBe(`${method} ${path} ${status}`);
    }
    const text = await (await api.fetch("/metrics")).text();
    const requests = (route: string, method: string, status: number) =>
      sample(text, `dispatch_http_requests_total{route="${route}",method="${method}",status="${status}"}`);
    expect(requests("/workspaces/:id", "GET", 404)).toBe(1);
    expect(requests("/conversations/:id", "GET", 404)).toBe(1);
    expect(requests("/conversations/:id", "GET", 200)).toBe(1);
    expect(requests("/workspaces/:id", "PATCH", 404)).toBe(1);
    expect(requests("/workspaces/:id/star", "PUT", 404)).toBe(1);
    expect(requests("/workspaces/:id", "DELETE", 404)).toBe(1);
    expect(requests("(unmatched)", "GET", 404)).toBe(2);
  });
});

describe("process metrics", () => {
  test("the host's registry has the standard process_* metrics with sensible values", async () => {
    const text = await (await api.fetch("/metrics")).text();
    for (const name of [
      "process_cpu_user_seconds_total",
      "process_cpu_system_seconds_total",
      "process_cpu_seconds_total",
      "process_start_time_seconds",
      "process_resident_memory_bytes",
      "process_virtual_memory_bytes",
      "process_heap_bytes",
      "process_open_fds",
      "process_max_fds",
    ]) {
      expect(text).toContain(`# HELP ${name} `);
      expect(sample(text, name)).toBeGreaterThan(0);
    }
    expect(text).toContain("# TYPE process_cpu_seconds_total counter");
    const rss = sample(text, "process_resident_memory_bytes") ?? 0;
    // The same process's own figure, read a moment apart; within a factor of two either way.
    expect(rss / process.memoryUsage().rss).toBeGreaterThan(0.5);
    expect(rss / process.memoryUsage().rss).toBeLessThan(2);
    const startedS = sample(text, "process_start_time_seconds") ?? 0;
    expect(startedS).toBeLessThanOrEqual(Date.now() / 1000 + 1);
    expect(startedS).toBeGreaterThan(Date.now() / 1000 - process.uptime() - 5);
    const cpu = sample(text, "process_cpu_seconds_total") ?? 0;
    const user = sample(text, "process_cpu_user_seconds_total") ?? 0;
    const system = sample(text, "process_cpu_system_seconds_total") ?? 0;
    expect(cpu).toBeCloseTo(user + system, 9);
  });
});
