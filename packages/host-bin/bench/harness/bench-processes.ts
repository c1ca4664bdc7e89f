import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repoRoot = resolve(import.meta.dir, "../../../..");
const harness = import.meta.dir;
/** Every fetch client here may hold hundreds of streams; Bun queues requests past this cap silently. */
const childEnv = { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: "4096" };

/** A host under test (`bin/dispatch serve`, or the floor host in its place). */
export interface BenchHost {
  url: string;
  pid: number;
  stop(): Promise<number>;
}

/** What kind of host `startHost` runs. */
export interface HostChoice {
  /** Runs harness/floor-host.ts in the host's place. */
  floor: boolean;
  /** Runs the host under `bun --cpu-prof`, writing its profile here at exit. */
  cpuProfDir?: string;
  /** Extensions the host starts without. */
  disabled: readonly string[];
}

/**
 * The processes of a hot-path run (model server, hosts, harness scripts) and their scratch
 * directory: every child is owned here, and `cleanup` kills what is left and removes the scratch.
 */
export class BenchProcesses {
  readonly #choice: HostChoice;
  readonly #scratch = mkdtempSync(join(tmpdir(), "dispatch-hot-path-"));
  readonly #children = new Set<Bun.Subprocess>();

  constructor(choice: HostChoice) {
    this.#choice = choice;
  }

  /** Kills the children still running and removes the scratch directory. */
  cleanup(): void {
    for (const child of this.#children) if (child.exitCode === null) child.kill("SIGKILL");
    rmSync(this.#scratch, { recursive: true, force: true });
  }

  /** Runs a harness script to its end; returns its last stdout line parsed as JSON. */
  readonly runJson = async <T>(script: string, argv: Array<string | number>): Promise<T> => {
    const child = Bun.spawn([process.execPath, join(harness, script), ...argv.map(String)], {
      env: childEnv,
      stdout: "pipe",
      stderr: "inherit",
    });
    this.#children.add(child);
    const [code, out] = await Promise.all([child.exited, new Response(child.stdout).text()]);
    this.#children.delete(child);
    if (code !== 0) throw new Error(`${script} ${argv.join(" ")} exited with ${code}`);
    const line = out.trim().split("\n").at(-1) ?? "";
    return JSON.parse(line) as T;
  };

  /** Starts the model server; resolves with its `baseURL` (…/v1). */
  async startModelServer(): Promise<{ baseURL: string; stop(): Promise<void> }> {
    const child = Bun.spawn([process.execPath, join(harness, "llm-stream-server.ts")], {
      env: childEnv,
      stdout: "pipe",
      stderr: "inherit",
    });
    this.#children.add(child);
    const reader = child.stdout.getReader();
    const { value } = await reader.read();
    reader.releaseLock();
    const { port } = JSON.parse(new TextDecoder().decode(value)) as { port: number };
    return {
      baseURL: `http://127.0.0.1:${port}/v1`,
      stop: async () => {
        child.kill("SIGTERM");
        await child.exited;
        this.#children.delete(child);
      },
    };
  }

  /** Starts `bin/dispatch serve` with both providers on the model server; waits for `/health`. */
  async startHost(baseURL: string, name: string): Promise<BenchHost> {
    const dir = mkdtempSync(join(this.#scratch, `${name}-`));
    const config = join(dir, "dispatch.json");
    writeFileSync(
      config,
      JSON.stringify({
        providers: [
          { id: "openai", kind: "openai-compatible", baseURL, models: ["c8-d10"], maxConcurrent: 1024 },
          { id: "anthropic", kind: "anthropic", baseURL, models: ["c8-d10"], maxConcurrent: 1024 },
        ],
        defaults: { provider: "openai", model: "c8-d10" },
        extensions: { disabled: this.#choice.disabled },
      }),
    );
    const port = freePort();
    const serveArgs = ["serve", "--config", config, "--data-dir", join(dir, "data"), "--port", String(port)];
    const { floor, cpuProfDir } = this.#choice;
    const command = floor
      ? [process.execPath, join(harness, "floor-host.ts"), ...serveArgs]
      : cpuProfDir === undefined
        ? [join(repoRoot, "bin/dispatch"), ...serveArgs]
        : [
            process.execPath,
            "--cpu-prof",
            `--cpu-prof-dir=${cpuProfDir}`,
            "--cpu-prof-md",
            // A sample every 250 µs: at the default 1 ms a 10 s run has too few samples per function.
            "--cpu-prof-interval=250",
            join(repoRoot, "packages/host-bin/src/main.ts"),
            ...serveArgs,
          ];
    const log = join(dir, "host.log");
    const child = Bun.spawn(command, {
      cwd: dir,
      env: {
        ...childEnv,
        // what bin/dispatch sets, for the profiled host that runs main.ts directly
        BUN_JSC_useFTLJIT: process.env.BUN_JSC_useFTLJIT ?? "0",
        DISPATCH_LOG_LEVEL: "info",
        ANTHROPIC_API_KEY: "bench-key-not-secret",
      },
      stdin: "ignore",
      stdout: Bun.file(log),
      stderr: Bun.file(`${log}.err`),
    });
    this.#children.add(child);
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`host exited with ${child.exitCode}; see ${log}.err`);
      if (Date.now() > deadline) throw new Error("host not healthy within 60 s");
      const ok = await fetch(`${url}/health`)
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) break;
      await Bun.sleep(50);
    }
    return {
      url,
      pid: child.pid,
      stop: async () => {
        child.kill("SIGTERM");
        const code = await child.exited;
        this.#children.delete(child);
        return code;
      },
    };
  }
}

/** A port nothing listens on right now. */
function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port as number;
  probe.stop(true);
  return port;
}
