/**
 * Turn throughput on one PostgreSQL database: two `dispatch serve` hosts against one host, in the
 * same run, rounds alternating, each on a fresh database. Every round starts `turns` turns (one per
 * conversation, `inFlight` posted at a time, spread over the hosts) and times until every turn is
 * completed (read from the database, so polling does not load the hosts). The provider is the
 * scripted one with a short reply and room for many calls at once (`maxConcurrent` 16, shared by
 * the hosts), so what is measured is the hosts' turn pipeline and the store.
 *
 *   bun packages/host-bin/bench/cluster-throughput.ts [rounds] [turns]
 *
 * BENCH_MAX sets the provider's maxConcurrent (default 16; 64 takes the slots out of the picture).
 * Uses DISPATCH_TEST_POSTGRES_URL when set, otherwise starts a throwaway server.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { median } from "@dispatch/bench-kit";
import { createTestDatabase } from "@dispatch/conversation-store/testing";
import { SQL } from "bun";

const rounds = Number(process.argv[2] ?? 3);
const turns = Number(process.argv[3] ?? 120);
const inFlight = 16;
const mainPath = resolve(import.meta.dir, "../src/main.ts");
const scratch = mkdtempSync(join(tmpdir(), "dispatch-bench-cluster-"));

interface Host {
  url: string;
  child: ReturnType<typeof Bun.spawn>;
}

async function startHost(config: string): Promise<Host> {
  const dataDir = mkdtempSync(join(scratch, "data-"));
  const child = Bun.spawn(
    [process.execPath, mainPath, "serve", "--data-dir", dataDir, "--port", "0", "--config", config],
    {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
      env: { ...process.env, DISPATCH_LOG_LEVEL: "info" },
    },
  );
  const decoder = new TextDecoder();
  let seen = "";
  let url: string | undefined;
  for await (const chunk of child.stderr as ReadableStream<Uint8Array>) {
    seen += decoder.decode(chunk, { stream: true });
    url ??= /"msg":"listening".*?"url":"([^"]+)"/.exec(seen)?.[1];
    if (url !== undefined && seen.includes('"msg":"ready"')) break;
  }
  if (url === undefined) throw new Error(`host did not start:\n${seen}`);
  // keep draining its log so it never blocks on a full pipe
  void (async () => {
    for await (const _ of child.stderr as ReadableStream<Uint8Array>) {
      // discarded
    }
  })().catch(() => {});
  return { url, child };
}

async function post(url: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** Turns per second with `hostCount` hosts on a fresh database. */
async function round(hostCount: number): Promise<number> {
  const database = await createTestDatabase();
  const config = join(scratch, `config-${hostCount}-${Date.now()}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      store: { url: database.url },
      providers: [
        {
          id: "scripted",
          kind: "scripted",
          maxConcurrent: Number(process.env.BENCH_MAX ?? 16),
          script: { replies: [], fallback: { steps: [{ text: "done.", chunks: 2 }] } },
        },
      ],
    }),
  );
  const hosts: Host[] = [];
  for (let i = 0; i < hostCount; i++) hosts.push(await startHost(config));
  const peek = new SQL(database.url, { max: 1 });
  try {
    // conversations first, so the timed part is turns only
    const conversations: Array<{ url: string; id: string }> = [];
    for (let i = 0; i < turns; i++) {
      const host = hosts[i % hosts.length] as Host;
      const conv = await post(host.url, "/workspaces/default/conversations", {});
      conversations.push({ url: host.url, id: String(conv.id) });
    }
    const began = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < conversations.length) {
        const { url, id } = conversations[next++] as { url: string; id: string };
        await post(url, `/conversations/${id}/messages`, { text: "go" });
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    for (;;) {
      const [row] = await peek`select count(*)::int as n from turns where status = 'completed'`;
      if (Number(row?.n) >= turns) break;
      const [failed] =
        await peek`select count(*)::int as n from turns where status in ('failed', 'interrupted', 'cancelled')`;
      if (Number(failed?.n) > 0) throw new Error(`${failed?.n} turn(s) did not complete`);
      await Bun.sleep(5);
    }
    return (turns / (performance.now() - began)) * 1000;
  } finally {
    await peek.close();
    for (const host of hosts) host.child.kill("SIGTERM");
    await Promise.all(hosts.map((h) => h.child.exited));
    await database.drop();
  }
}

const one: number[] = [];
const two: number[] = [];
for (let r = 0; r < rounds; r++) {
  one.push(await round(1));
  two.push(await round(2));
}
const ratios = two.map((v, i) => v / (one[i] as number));
console.log(`rounds: ${rounds}; turns per round: ${turns}; posted ${inFlight} at a time`);
console.log(
  `one host:  median ${median(one).toFixed(1)} turns/s (${one.map((v) => v.toFixed(1)).join(", ")})`,
);
console.log(
  `two hosts: median ${median(two).toFixed(1)} turns/s (${two.map((v) => v.toFixed(1)).join(", ")})`,
);
console.log(
  `two/one: median ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
);
rmSync(scratch, { recursive: true, force: true });
process.exit(0);
