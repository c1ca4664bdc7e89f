import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { apiClient, readEvents, startTurn, waitForTurnEnd } from "./api-client.ts";
import { cleanup, serveProcess, tempDir, writeConfig } from "./dispatch-process.ts";
import { scriptedConfig, toolOutcomes, waitForStatus } from "./hostile-script.ts";

setDefaultTimeout(120_000);
afterEach(cleanup);

/** Polls `/health` back to back until `done` settles; returns the slowest answer in ms. */
async function slowestHealth(
  url: string,
  done: Promise<unknown>,
): Promise<{ slowestMs: number; polls: number }> {
  let finished = false;
  void done.finally(() => {
    finished = true;
  });
  let slowestMs = 0;
  let polls = 0;
  while (!finished) {
    const began = performance.now();
    const res = await fetch(`${url}/health`);
    await res.arrayBuffer();
    slowestMs = Math.max(slowestMs, performance.now() - began);
    polls++;
    await Bun.sleep(10);
  }
  return { slowestMs, polls };
}

const redosLines = `${Array.from({ length: 20 }, () => `${"a".repeat(40)}!`).join("\n")}\n`;

// The bound on /health is 1 s, not the 100 ms the host meets on a quiet machine (14–15 ms measured):
// with several test suites on 2 cores a plain request can take hundreds of ms. It still separates
// the fix from the bug, where the regex held the event loop for the whole search (12.8 s here).
test("a catastrophic regex in grep is a tool error at its time limit, and /health keeps answering", async () => {
  const config = writeConfig(
    tempDir(),
    scriptedConfig(
      [{ when: "redos", steps: [{ tool: "grep", input: { pattern: "^(a+)+$" } }, { text: "done" }] }],
      { tools: { grepTimeoutMs: 1500 } },
    ),
  );
  const { child } = serveProcess({ config });
  const url = await child.url();
  const root = join(tempDir(), "ws");
  mkdirSync(root);
  writeFileSync(join(root, "evil.txt"), redosLines);
  await apiClient(url).workspaces.$post({ json: { id: "redos", root } });

  const began = performance.now();
  const conversationId = await startTurn(url, "redos", "redos");
  const ended = waitForTurnEnd(url, conversationId, 60_000);
  const health = await slowestHealth(url, ended);
  expect(await ended).toBe("completed");
  const elapsedMs = performance.now() - began;

  const [grep] = await toolOutcomes(url, conversationId);
  expect(grep?.isError).toBe(true);
  expect(grep?.output).toContain("longer than its time limit of 1500 ms");
  expect(health.polls).toBeGreaterThan(10);
  expect(health.slowestMs).toBeLessThan(1000);
  console.log(
    `redos: turn ${elapsedMs.toFixed(0)} ms, /health slowest ${health.slowestMs.toFixed(1)} ms over ${health.polls} polls`,
  );
});

test("cancel stops a runaway grep at once", async () => {
  const config = writeConfig(
    tempDir(),
    scriptedConfig([{ when: "redos", steps: [{ tool: "grep", input: { pattern: "^(a+)+$" } }] }], {
      tools: { grepTimeoutMs: 60_000 },
    }),
  );
  const { child } = serveProcess({ config });
  const url = await child.url();
  const root = join(tempDir(), "ws");
  mkdirSync(root);
  writeFileSync(join(root, "evil.txt"), redosLines);
  await apiClient(url).workspaces.$post({ json: { id: "redos", root } });
  const conversationId = await startTurn(url, "redos", "redos");
  await readEvents(url, conversationId, (events) => events.some((e) => e.type === "tool.call"));
  await Bun.sleep(300);

  const res = await apiClient(url).conversations[":id"].cancel.$post({ param: { id: conversationId } });
  expect(res.status).toBe(200);
  // Cancelled, not ended by the 60 s limit: the worker was terminated, not waited for.
  expect(await waitForTurnEnd(url, conversationId, 10_000)).toBe("cancelled");
  const [grep] = await toolOutcomes(url, conversationId);
  expect(grep).toMatchObject({ toolName: "grep", isError: true });
  const health = await fetch(`${url}/health`);
  expect(health.status).toBe(200);
});

/**
 * Swaps each name with its symlink twin by renameat2(RENAME_EXCHANGE) in a loop, so that at any
 * moment `f.txt`, `d` and `r.txt` may be the real entry or a symlink leading out of the workspace.
 */
const swapper = `
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
pairs = [(b"f.txt", b"f.lnk"), (b"d", b"d.lnk"), (b"r.txt", b"r.lnk")]
deadline = time.time() + float(sys.argv[1])
open("swapping", "w").close()
n = 0
while time.time() < deadline:
    for a, b in pairs:
        if libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) != 0:
            raise OSError(ctypes.get_errno(), "renameat2")
    n += 1
print("swaps", n)
`;

test("two conversations of one workspace: 1,000 file operations raced against symlink swaps, zero escapes", async () => {
  const dir = tempDir();
  const root = join(dir, "ws");
  const outside = join(dir, "outside");
  mkdirSync(join(root, "d"), { recursive: true });
  mkdirSync(join(outside, "d"), { recursive: true });
  writeFileSync(join(root, "f.txt"), "inside f\n");
  writeFileSync(join(root, "r.txt"), "inside r\n");
  writeFileSync(join(root, "d", "inner.txt"), "inside inner\n");
  writeFileSync(join(outside, "f-target.txt"), "OUTSIDE-SECRET f\n");
  writeFileSync(join(outside, "r-target.txt"), "OUTSIDE-SECRET r\n");
  writeFileSync(join(outside, "d", "inner.txt"), "OUTSIDE-SECRET inner\n");
  writeFileSync(join(outside, "d", "outside-marker"), "");
  symlinkSync(join(outside, "f-target.txt"), join(root, "f.lnk"));
  symlinkSync(join(outside, "r-target.txt"), join(root, "r.lnk"));
  symlinkSync(join(outside, "d"), join(root, "d.lnk"));
  writeFileSync(join(dir, "swap.py"), swapper);

  const writes = Array.from({ length: 500 }, (_, i) =>
    i % 2 === 0
      ? { tool: "write_file", input: { path: "f.txt", content: `written by the tools ${i}\n` } }
      : { tool: "write_file", input: { path: "d/w.txt", content: `written by the tools ${i}\n` } },
  );
  const reads = Array.from(
    { length: 500 },
    (_, i) =>
      [
        { tool: "read_file", input: { path: "r.txt" } },
        { tool: "read_file", input: { path: "d/inner.txt" } },
        { tool: "list_dir", input: { path: "d" } },
        { tool: "read_file", input: { path: "f.txt" } },
      ][i % 4],
  );
  const config = writeConfig(
    dir,
    scriptedConfig(
      [
        {
          when: "swap",
          steps: [
            { tool: "bash", input: { command: `python3 ${join(dir, "swap.py")} 90`, timeoutMs: 100_000 } },
            { text: "swapper stopped" },
          ],
        },
        { when: "write", steps: [...writes, { text: "writes done" }] },
        { when: "read", steps: [...reads, { text: "reads done" }] },
      ],
      // Unconfined: the swapper (a script outside the root) is the test's own agent, not under test.
      { defaults: { maxSteps: 600 }, tools: { sandbox: "none" } },
    ),
  );
  const { child } = serveProcess({ config });
  const url = await child.url();
  const client = apiClient(url);
  await client.workspaces.$post({ json: { id: "race", root } });

  const swapping = await startTurn(url, "race", "swap");
  const started = Date.now();
  while (!readdirSync(root).includes("swapping")) {
    if (Date.now() - started > 20_000) throw new Error("the swapper did not start");
    await Bun.sleep(20);
  }
  const writer = await startTurn(url, "race", "write");
  const reader = await startTurn(url, "race", "read");
  expect(await waitForTurnEnd(url, writer, 90_000)).toBe("completed");
  expect(await waitForTurnEnd(url, reader, 90_000)).toBe("completed");
  // The swapper ran through every operation: the race was real.
  await waitForStatus(url, swapping, "running", 1_000);
  await client.conversations[":id"].cancel.$post({ param: { id: swapping } });
  expect(await waitForTurnEnd(url, swapping)).toBe("cancelled");

  const outcomes = [...(await toolOutcomes(url, writer)), ...(await toolOutcomes(url, reader))];
  expect(outcomes).toHaveLength(1000);
  const leaked = outcomes.filter(
    (o) => o.output.includes("OUTSIDE-SECRET") || o.output.includes("outside-marker"),
  );
  expect(leaked).toEqual([]);
  // Nothing outside was written, created or replaced.
  expect(readFileSync(join(outside, "f-target.txt"), "utf8")).toBe("OUTSIDE-SECRET f\n");
  expect(readFileSync(join(outside, "r-target.txt"), "utf8")).toBe("OUTSIDE-SECRET r\n");
  expect(readdirSync(join(outside, "d")).sort()).toEqual(["inner.txt", "outside-marker"]);
  expect(readdirSync(outside).sort()).toEqual(["d", "f-target.txt", "r-target.txt"]);
  const succeeded = outcomes.filter((o) => !o.isError).length;
  console.log(
    `race: ${succeeded} of ${outcomes.length} operations succeeded, ${outcomes.length - succeeded} refused`,
  );
  // Both sides of the race happened: some calls got through, some were refused.
  expect(succeeded).toBeGreaterThan(0);
  expect(succeeded).toBeLessThan(outcomes.length);
});
