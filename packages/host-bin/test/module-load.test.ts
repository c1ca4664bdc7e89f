import { expect, test } from "bun:test";
import { resolve } from "node:path";

const extensionsModule = resolve(import.meta.dir, "../src/extensions.ts");

test("loading every built-in extension loads prom-client's metric classes only, never its index", async () => {
  // A fresh process, so nothing another test imported is in the module cache.
  const script = `
    await import(${JSON.stringify(extensionsModule)});
    const loaded = Object.keys(require.cache).filter((path) => path.includes("/prom-client/"));
    console.log(JSON.stringify(loaded.map((path) => path.slice(path.lastIndexOf("/prom-client/") + 13))));
  `;
  const child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  expect({ code, err }).toEqual({ code: 0, err: "" });
  const loaded = JSON.parse(out) as string[];
  expect(loaded).toContain("lib/registry.js");
  // The index drags in the push gateway (http, https, zlib), every default collector and
  // @opentelemetry/api; kernel/src/metrics.ts is the one path in, and it skips all of them.
  expect(loaded).not.toContain("index.js");
  expect(loaded).not.toContain("lib/pushgateway.js");
  expect(loaded).not.toContain("lib/defaultMetrics.js");
  expect(loaded).not.toContain("lib/metrics/processCpuTotal.js");
}, 30_000);
