/**
 * The dashboard's bundle size and its time to first render in Chromium, against a blank page
 * measured in the same run (same browser, same machine, same moment).
 *
 *   bun packages/host-bin/bench/dashboard.ts [runs]
 *
 * Size: each file of the bundle Bun's bundler makes (minified), raw and gzipped (what a browser
 * would fetch from a server that compresses; ours does not). Time: `dispatch serve` without a token
 * (so no login), a fresh browser context per run (cold cache), from navigation start to the
 * `dispatch:first-render` mark, which the page sets once the workspaces list shows data from the API
 * (script, styles, `GET /auth/session`, `GET /activity`, `GET /workspaces` and a frame). Baseline: a
 * page that marks its first frame from an inline script, served by a bare `Bun.serve`.
 */

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { median } from "@dispatch/bench-kit";
import { buildDashboard } from "@dispatch/dashboard";
import { chromium } from "playwright-core";

const runs = Number(process.argv[2] ?? 8);
const mainPath = resolve(import.meta.dir, "../src/main.ts");
const chromiumPath = "/usr/bin/chromium";
if (!existsSync(chromiumPath)) {
  console.error(`${chromiumPath} is missing: run bin/lib/ensure-chromium.sh`);
  process.exit(1);
}

const bundle = await buildDashboard();
console.log("bundle (minified; gzip -9 for comparison):");
for (const file of bundle.files) {
  const gz = Bun.gzipSync(file.bytes, { level: 9 }).byteLength;
  console.log(
    `  ${file.name.padEnd(24)} ${(file.bytes.byteLength / 1024).toFixed(1).padStart(6)} KiB  gzip ${(gz / 1024).toFixed(1).padStart(5)} KiB`,
  );
}
const total = bundle.files.reduce((sum, f) => sum + f.bytes.byteLength, 0);
const totalGz = bundle.files.reduce((sum, f) => sum + Bun.gzipSync(f.bytes, { level: 9 }).byteLength, 0);
console.log(`  total ${(total / 1024).toFixed(1)} KiB, gzip ${(totalGz / 1024).toFixed(1)} KiB`);

const scratch = mkdtempSync(join(tmpdir(), "dispatch-bench-dashboard-"));
const host = Bun.spawn(
  [process.execPath, mainPath, "serve", "--port", "0", "--data-dir", join(scratch, "data")],
  {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
    // No token (loopback), so the page shows the workspaces without a login.
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("DISPATCH_"))),
      DISPATCH_LOG_LEVEL: "info",
    },
  },
);
const url = await listeningUrl(host.stderr);
const blank = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: () =>
    new Response(
      `<!doctype html><meta charset="utf-8"><title>blank</title><p>blank</p><script>requestAnimationFrame(() => performance.mark("dispatch:first-render"))</script>`,
      { headers: { "Content-Type": "text/html" } },
    ),
});

const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
  ],
});

/** Milliseconds from navigation start to the first-render mark, in a new (cold) context. */
async function firstRender(target: string): Promise<number> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    await page.goto(target);
    await page.waitForFunction(
      () => performance.getEntriesByName("dispatch:first-render").length > 0,
      undefined,
      {
        timeout: 15_000,
      },
    );
    return await page.evaluate(() => performance.getEntriesByName("dispatch:first-render")[0]!.startTime);
  } finally {
    await context.close();
  }
}

try {
  // One warm-up of each (the browser's own first start), then interleaved runs.
  await firstRender(`${url}/dashboard`);
  await firstRender(`http://127.0.0.1:${blank.port}/`);
  const dashboard: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < runs; i++) {
    dashboard.push(await firstRender(`${url}/`));
    baseline.push(await firstRender(`http://127.0.0.1:${blank.port}/`));
  }
  const range = (xs: number[]) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
  console.log(`time to first render, ${runs} runs, cold context each:`);
  console.log(
    `  dashboard (GET / → redirect → data shown): median ${median(dashboard).toFixed(0)} ms (${range(dashboard)})`,
  );
  console.log(
    `  blank page baseline:                       median ${median(baseline).toFixed(0)} ms (${range(baseline)})`,
  );
  console.log(`  ratio dashboard / blank: ${(median(dashboard) / median(baseline)).toFixed(2)}`);
} finally {
  await browser.close();
  blank.stop(true);
  host.kill("SIGTERM");
  await host.exited;
  rmSync(scratch, { recursive: true, force: true });
}

/** The URL from the host's "listening" log line; the rest of stderr is drained so the host never blocks. */
async function listeningUrl(stderr: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stderr.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`dispatch serve exited before listening:\n${text}`);
    text += decoder.decode(value, { stream: true });
    const match = /"msg":"listening","url":"([^"]+)"/.exec(text);
    if (match?.[1]) {
      void (async () => {
        while (!(await reader.read()).done) {}
      })();
      return match[1];
    }
  }
}
