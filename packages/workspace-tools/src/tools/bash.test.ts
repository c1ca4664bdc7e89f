import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { isRunning, makeSandbox, makeTools, type Sandbox, toolContext } from "../../test/fixtures.ts";

let box: Sandbox;
beforeEach(() => {
  box = makeSandbox();
});
afterEach(() => box.cleanup());

const pidsIn = (output: string) => (output.match(/PIDS (\d+) (\d+)/)?.slice(1) ?? []).map(Number);

test("runs in the workspace root and reports the exit code and both streams", async () => {
  const { tools } = makeTools();
  const result = await tools.bash.run({ command: "pwd; echo err >&2" }, toolContext(box.root));
  expect(result).toEqual({
    output: `exit code: 0\n--- stdout ---\n${realpathSync(box.root)}\n\n--- stderr ---\nerr\n`,
    isError: false,
  });
});

test("a non-zero exit is an error result", async () => {
  const { tools } = makeTools();
  const result = await tools.bash.run({ command: "exit 7" }, toolContext(box.root));
  expect(result).toEqual({ output: "exit code: 7\n(no output)", isError: true });
});

test("creates a workspace root that does not exist yet", async () => {
  const root = join(box.dir, "new-ws");
  const { tools } = makeTools();
  const result = await tools.bash.run({ command: "echo hi > f.txt" }, toolContext(root));
  expect(result.isError).toBe(false);
  expect(readFileSync(join(root, "f.txt"), "utf8")).toBe("hi\n");
});

test("on timeout the shell and its grandchild are killed (`sleep 100 & wait`)", async () => {
  const { tools } = makeTools({ bashTimeoutMs: 400 });
  const result = await tools.bash.run(
    { command: 'sleep 100 & echo "PIDS $$ $!"; wait' },
    toolContext(box.root),
  );
  expect(result.isError).toBe(true);
  expect(result.output).toStartWith(
    "[timed out after 400 ms: the command and all its child processes were killed]",
  );
  const pids = pidsIn(result.output);
  expect(pids).toHaveLength(2);
  for (const pid of pids) expect(isRunning(pid)).toBe(false);
});

test("a call may ask for a shorter timeout but not a longer one", async () => {
  const { tools } = makeTools({ bashTimeoutMs: 300 });
  const result = await tools.bash.run({ command: "sleep 100", timeoutMs: 60000 }, toolContext(box.root));
  expect(result.output).toContain("[timed out after 300 ms");
});

test("cancel kills the shell and its grandchild (`sleep 100 & wait`)", async () => {
  const { tools } = makeTools();
  const controller = new AbortController();
  const pidFile = join(box.root, "pids");
  const running = tools.bash.run(
    { command: `sleep 100 & echo "$$ $!" > pids; wait` },
    toolContext(box.root, { signal: controller.signal }),
  );
  let pids: number[] = [];
  for (let i = 0; i < 500 && pids.length < 2; i++) {
    if (existsSync(pidFile))
      pids = readFileSync(pidFile, "utf8").trim().split(" ").filter(Boolean).map(Number);
    if (pids.length < 2) await Bun.sleep(10);
  }
  expect(pids).toHaveLength(2);
  for (const pid of pids) expect(isRunning(pid)).toBe(true);
  controller.abort();
  const result = await running;
  expect(result.isError).toBe(true);
  expect(result.output).toStartWith("[cancelled: the command and all its child processes were killed]");
  for (const pid of pids) expect(isRunning(pid)).toBe(false);
});

test("the command does not see the host's secrets", async () => {
  process.env.DISPATCH_TOKEN = "host-token-value";
  process.env.OPENAI_API_KEY = "provider-key-value";
  try {
    const { tools } = makeTools();
    const result = await tools.bash.run({ command: "env" }, toolContext(box.root));
    expect(result.output).toContain("PATH=");
    expect(result.output).not.toContain("host-token-value");
    expect(result.output).not.toContain("provider-key-value");
  } finally {
    delete process.env.DISPATCH_TOKEN;
    delete process.env.OPENAI_API_KEY;
  }
});

test("huge output is capped and the cut stated", async () => {
  const { tools } = makeTools({ maxOutputBytes: 4096 });
  const result = await tools.bash.run({ command: "yes | head -c 1000000" }, toolContext(box.root));
  expect(Buffer.byteLength(result.output)).toBeLessThanOrEqual(4096);
  expect(result.output).toContain("[truncated:");
});
