import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "bun";
import { apiClient, startTurn, waitForTurnEnd } from "./api-client.ts";
import { cleanup, DispatchProcess, tempDir, writeConfig } from "./dispatch-process.ts";
import { scriptedConfig, toolOutcomes } from "./hostile-script.ts";

setDefaultTimeout(180_000);
const made: string[] = [];
afterEach(() => {
  cleanup();
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A directory outside /tmp (which the sandbox replaces as a whole): only the sandbox's own rules keep bash out of it. */
function varTmpDir(): string {
  const dir = realpathSync(mkdtempSync("/var/tmp/dispatch-sandbox-e2e-"));
  made.push(dir);
  return dir;
}

/** Host processes whose command line is exactly `argv` (zombies excluded). */
function running(argv: string[]): number[] {
  const wanted = `${argv.join("\0")}\0`;
  return readdirSync("/proc").flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8") !== wanted) return [];
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z") ? [] : [Number(entry)];
    } catch {
      return [];
    }
  });
}

/** Everything under `dir`: relative paths with their contents, to compare before and after. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string, prefix: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path, `${prefix}${entry.name}/`);
      else out[`${prefix}${entry.name}`] = entry.isFile() ? readFileSync(path, "utf8") : "(other)";
    }
  };
  walk(dir, "");
  return out;
}

/** A loopback TCP server that greets and counts its connections; stops with `stop()`. */
function greeter(): { port: number; connections: () => number; stop(): void } {
  let count = 0;
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket: Socket) {
        count++;
        socket.end("hello-from-the-host\n");
      },
      data() {},
    },
  });
  return { port: server.port, connections: () => count, stop: () => server.stop(true) };
}

/** workspace-tools' `sandbox` health once the local probe is done (start-up does not wait for it). */
async function sandboxHealth(url: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 400; i++) {
    const health = (await (await fetch(`${url}/health`)).json()) as {
      extensions: Array<{ id: string; health?: { sandbox?: { hosts?: { local?: { state?: string } } } } }>;
    };
    const sandbox = health.extensions.find((e) => e.id === "workspace-tools")?.health?.sandbox;
    if (sandbox?.hosts?.local?.state !== undefined && sandbox.hosts.local.state !== "probing") return sandbox;
    await Bun.sleep(25);
  }
  throw new Error("the sandbox probe did not finish");
}

/** Starts `dispatch serve` with its data dir and config where the test says (outside /tmp). */
function serveAt(dataDir: string, config: string): DispatchProcess {
  return new DispatchProcess(["serve", "--data-dir", dataDir, "--port", "0", "--config", config]);
}

const tag = `${process.pid}-${Date.now()}`;

test("escapes from sandboxed bash through bin/dispatch serve fail clearly and change nothing outside the root", async () => {
  const base = varTmpDir();
  const hostTmp = realpathSync(mkdtempSync(join(tmpdir(), "dispatch-host-tmp-")));
  made.push(hostTmp);
  writeFileSync(join(hostTmp, "secret.txt"), "HOST-TMP-SECRET\n");
  const outside = join(base, "outside");
  mkdirSync(outside);
  writeFileSync(join(outside, "keep.txt"), "OUTSIDE-VISIBLE\n");
  const dataDir = join(base, "data");
  mkdirSync(dataDir);
  writeFileSync(join(dataDir, "secret.txt"), "DATA-DIR-SECRET\n");
  const root = join(base, "ws");
  const onlineRoot = join(base, "ws-online");
  const server = greeter();
  const etcMarker = `/etc/dispatch-escape-${tag}`;
  const homeMarker = join(homedir(), `dispatch-escape-${tag}`);
  const tcp = `exec 3<>/dev/tcp/127.0.0.1/${server.port} && head -n 1 <&3`;
  const forkScript =
    'for $i (1..400) { my $p = fork; if (!defined $p) { print "fork $i failed: $!\\n"; exit 1 } if (!$p) { sleep 60; exit 0 } }';
  const forks = `perl -e '${forkScript}'`;
  const bash = (command: string) => ({ tool: "bash", input: { command, timeoutMs: 60_000 } });
  const steps = [
    bash(`echo pwned > ${etcMarker}`),
    bash(`echo pwned > "$HOME/dispatch-escape-${tag}"`),
    bash(`echo pwned > ${hostTmp}/dropped.txt`),
    bash(`ln -s ${etcMarker} etc-link && echo pwned > etc-link`),
    bash(`ln -s ${outside} out-link && echo pwned > out-link/through-link.txt`),
    bash(`cat ${hostTmp}/secret.txt`),
    bash(`cat ${dataDir}/secret.txt`),
    bash("cat CONFIG_FILE"),
    bash(`cat ${outside}/keep.txt`),
    bash(tcp),
    bash(
      `nohup sleep 100 >/dev/null 2>&1 & setsid nohup sleep 100.${process.pid} >/dev/null 2>&1 & echo started`,
    ),
    bash(forks),
    bash(`perl -e '$x = "x" x (512 * 1024 * 1024); print "allocated\\n"'`),
    bash("while :; do :; done"),
    bash("echo inside > inside.txt && cat inside.txt"),
    { text: "tried everything" },
  ];
  const configPath = join(base, "dispatch.json");
  const config = scriptedConfig(
    [
      {
        when: "escape",
        steps: steps.map((s) => JSON.parse(JSON.stringify(s).replace("CONFIG_FILE", configPath))),
      },
      { when: "online", steps: [bash(tcp), { text: "reached" }] },
      // Never used: a secret in the config file, which must not be readable by bash.
      { when: "CONFIG-FILE-SECRET", steps: [{ text: "never" }] },
    ],
    {
      tools: {
        sandbox: "required",
        limits: { memoryBytes: 256 * 1024 * 1024, pids: 300, cpuSeconds: 2 },
      },
      defaults: { maxSteps: 40 },
    },
  );
  writeConfig(base, config);
  const before = snapshot(outside);
  const child = serveAt(dataDir, configPath);
  try {
    const url = await child.url();
    const client = apiClient(url);
    expect((await client.workspaces.$post({ json: { id: "jail", root } })).status).toBe(201);
    const conversationId = await startTurn(url, "jail", "escape");
    expect(await waitForTurnEnd(url, conversationId, 150_000)).toBe("completed");
    const results = (await toolOutcomes(url, conversationId)).map((o) => o.output);
    const [
      etc,
      home,
      tmpWrite,
      etcLink,
      outLink,
      tmpRead,
      dataRead,
      configRead,
      visible,
      net,
      background,
      fork,
      memory,
      cpu,
      inside,
    ] = results;
    expect(etc).toContain("Read-only file system");
    expect(home).toContain("Read-only file system");
    expect(tmpWrite).toContain("No such file or directory");
    expect(etcLink).toContain("Read-only file system");
    expect(outLink).toContain("Read-only file system");
    expect(tmpRead).toContain("No such file or directory");
    expect(dataRead).toContain("No such file or directory");
    expect(configRead).toContain("Permission denied");
    // The rest of the host stays readable: the hiding above is the sandbox's doing.
    expect(visible).toContain("OUTSIDE-VISIBLE");
    expect(net).toContain("Connection refused");
    expect(background).toContain("started");
    expect(fork).toContain("Resource temporarily unavailable");
    expect(memory).toContain("Out of memory!");
    expect(cpu).toContain("SIGXCPU: CPU time limit exceeded");
    expect(inside).toContain("inside");
    for (const output of [etc, home, tmpRead, net, fork, memory, cpu]) expect(output).toContain("[sandbox: ");
    for (const secret of ["HOST-TMP-SECRET", "DATA-DIR-SECRET", "CONFIG-FILE-SECRET"]) {
      for (const output of [tmpRead, dataRead, configRead]) expect(output).not.toContain(secret);
    }

    // Nothing outside the root changed, and nothing the calls started is left.
    expect(existsSync(etcMarker)).toBe(false);
    expect(existsSync(homeMarker)).toBe(false);
    expect(readdirSync(hostTmp)).toEqual(["secret.txt"]);
    expect(snapshot(outside)).toEqual(before);
    expect(server.connections()).toBe(0);
    expect(running(["sleep", `100.${process.pid}`])).toEqual([]);
    expect(running(["perl", "-e", forkScript])).toEqual([]);
    expect(readFileSync(join(root, "inside.txt"), "utf8")).toBe("inside\n");

    // The same tools with network: true reach the loopback server.
    await client.workspaces.$post({ json: { id: "online", root: onlineRoot, network: true } });
    const online = await startTurn(url, "online", "online");
    expect(await waitForTurnEnd(url, online, 60_000)).toBe("completed");
    const [reached] = await toolOutcomes(url, online);
    expect(reached?.isError).toBe(false);
    expect(reached?.output).toContain("hello-from-the-host");
    expect(server.connections()).toBe(1);
  } finally {
    server.stop();
    child.proc.kill("SIGTERM");
    await child.exitWithin(20_000);
  }
});

test("required with the sandbox binary at a missing path refuses bash with the reason; /health and the log say why", async () => {
  const dir = tempDir();
  const root = join(dir, "ws");
  const config = writeConfig(
    dir,
    scriptedConfig(
      [
        {
          when: "run",
          steps: [{ tool: "bash", input: { command: "echo ran > ran.txt" } }, { text: "done" }],
        },
      ],
      { tools: { sandbox: "required", sandboxBinary: "/nonexistent/bwrap" } },
    ),
  );
  const child = serveAt(join(dir, "data"), config);
  const url = await child.url();
  await apiClient(url).workspaces.$post({ json: { id: "strict", root } });
  const conversationId = await startTurn(url, "strict", "run");
  expect(await waitForTurnEnd(url, conversationId)).toBe("completed");
  const [result] = await toolOutcomes(url, conversationId);
  expect(result?.isError).toBe(true);
  expect(result?.output).toContain('tools.sandbox is "required"');
  expect(result?.output).toContain('"/nonexistent/bwrap" was not found');
  expect(existsSync(join(root, "ran.txt"))).toBe(false);
  expect(await sandboxHealth(url)).toMatchObject({
    mode: "required",
    hosts: {
      local: { state: "unavailable", bash: "refused", reason: expect.stringContaining("/nonexistent/bwrap") },
    },
  });
  expect(child.records().some((r) => r.level === "error" && String(r.msg).includes("bash is refused"))).toBe(
    true,
  );
  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(20_000)).toBe(0);
});

test("auto without a working sandbox runs bash unconfined and says so in /health and the log", async () => {
  const dir = tempDir();
  const root = join(dir, "ws");
  const config = writeConfig(
    dir,
    scriptedConfig(
      [
        {
          when: "run",
          steps: [{ tool: "bash", input: { command: "echo ran > ran.txt" } }, { text: "done" }],
        },
      ],
      { tools: { sandboxBinary: "/nonexistent/bwrap" } },
    ),
  );
  const child = serveAt(join(dir, "data"), config);
  const url = await child.url();
  await apiClient(url).workspaces.$post({ json: { id: "loose", root } });
  const conversationId = await startTurn(url, "loose", "run");
  expect(await waitForTurnEnd(url, conversationId)).toBe("completed");
  expect(readFileSync(join(root, "ran.txt"), "utf8")).toBe("ran\n");
  expect(await sandboxHealth(url)).toMatchObject({
    mode: "auto",
    hosts: { local: { state: "unavailable", bash: "unconfined" } },
  });
  expect(
    child.records().some((r) => r.level === "warn" && String(r.msg).includes("bash runs unconfined")),
  ).toBe(true);
  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(20_000)).toBe(0);
});

test("with a working sandbox, /health shows it ready (once probed) with each limit and how it is enforced", async () => {
  const dir = tempDir();
  const child = serveAt(join(dir, "data"), writeConfig(dir, scriptedConfig([])));
  const url = await child.url();
  expect(await sandboxHealth(url)).toMatchObject({
    mode: "auto",
    hosts: {
      local: {
        state: "ready",
        bash: "sandboxed",
        binary: expect.stringMatching(/bwrap$/),
        limits: {
          memory: expect.stringContaining("(rlimit)"),
          pids: expect.stringMatching(/\((pid-namespace|cgroup|rlimit)\)/),
          cpuSeconds: "600 (rlimit)",
        },
      },
    },
  });
  const ready = child.records().find((r) => r.msg === "bash runs in the sandbox");
  expect(ready).toMatchObject({ hostId: "local" });
  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(20_000)).toBe(0);
});
