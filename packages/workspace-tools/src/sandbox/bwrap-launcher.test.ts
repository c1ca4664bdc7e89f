import { describe, expect, test } from "bun:test";
import { sandboxLimitsSchema } from "../config.ts";
import { pidMaxFor, preludeScript, sandboxLauncher } from "./bwrap-launcher.ts";
import type { LimitPlan, SandboxFacts } from "./sandbox-facts.ts";

const facts: SandboxFacts = {
  binary: "/usr/bin/bwrap",
  asRoot: true,
  pidMaxPerNamespace: true,
  setpriv: "/usr/bin/setpriv",
  prlimit: "/usr/bin/prlimit",
  home: "/root",
};
const plan: LimitPlan = { memory: "rlimit", pids: "pid-namespace", cpu: "rlimit" };
const limits = sandboxLimitsSchema.parse({ memoryBytes: 256 * 1024 * 1024, pids: 500, cpuSeconds: 5 });
const call = {
  root: "/data/workspaces/proj",
  cwd: "/data/workspaces/proj",
  network: false,
  hidden: [
    { path: "/data", directory: true },
    { path: "/data/workspaces/proj/.ssh", directory: true },
    { path: "/etc/dispatch.json", directory: false },
  ],
  limits,
};

/** The index of `args` as a contiguous run in `argv`, or -1. */
function indexOfRun(argv: readonly string[], args: readonly string[]): number {
  return argv.findIndex((_, i) => args.every((arg, j) => argv[i + j] === arg));
}

describe("sandboxLauncher", () => {
  test("read-only host, private /tmp, the root bound read-write, own namespaces, no network", () => {
    const argv = sandboxLauncher(facts, plan, call);
    expect(argv[0]).toBe("/usr/bin/bwrap");
    for (const run of [
      ["--ro-bind", "/", "/"],
      ["--tmpfs", "/tmp"],
      ["--bind", call.root, call.root],
      ["--unshare-pid"],
      ["--unshare-net"],
      ["--new-session"],
      ["--die-with-parent"],
      ["--chdir", call.cwd],
    ]) {
      expect(indexOfRun(argv, run)).toBeGreaterThan(0);
    }
    // The command comes after the prelude: the backend appends `bash -c command`.
    expect(argv.slice(-5, -2)).toEqual(["--", "/bin/sh", "-c"]);
    expect(argv.at(-1)).toBe("dispatch-sandbox");
  });

  test("a hidden directory that holds the root is masked before the root is bound, others after", () => {
    const argv = sandboxLauncher(facts, plan, call);
    const bind = indexOfRun(argv, ["--bind", call.root, call.root]);
    expect(indexOfRun(argv, ["--tmpfs", "/data"])).toBeLessThan(bind);
    expect(indexOfRun(argv, ["--tmpfs", "/data/workspaces/proj/.ssh"])).toBeGreaterThan(bind);
    expect(indexOfRun(argv, ["--ro-bind", "/dev/null", "/etc/dispatch.json"])).toBeGreaterThan(bind);
    // /tmp is private before the root is bound, so a root under /tmp stays visible.
    expect(indexOfRun(argv, ["--tmpfs", "/tmp"])).toBeLessThan(bind);
  });

  test("a hidden path that is the root itself is not hidden", () => {
    const argv = sandboxLauncher(facts, plan, { ...call, hidden: [{ path: call.root, directory: true }] });
    expect(indexOfRun(argv, ["--tmpfs", call.root])).toBe(-1);
  });

  test("network: the network namespace is shared", () => {
    expect(sandboxLauncher(facts, plan, { ...call, network: true })).not.toContain("--unshare-net");
  });

  test("a cgroup is joined before bwrap starts", () => {
    const argv = sandboxLauncher(
      facts,
      { memory: "cgroup", pids: "cgroup", cpu: "rlimit" },
      {
        ...call,
        cgroupProcs: "/sys/fs/cgroup/x/cgroup.procs",
      },
    );
    expect(argv.slice(0, 4)).toEqual([
      "/bin/sh",
      "-c",
      'echo $$ > "$0" && exec "$@"',
      "/sys/fs/cgroup/x/cgroup.procs",
    ]);
    expect(argv[4]).toBe("/usr/bin/bwrap");
  });

  test("without the pid_max step bwrap drops every capability itself; a non-root host gets a user namespace", () => {
    const rlimitOnly: LimitPlan = { memory: "rlimit", pids: "rlimit", cpu: "rlimit" };
    const argv = sandboxLauncher({ ...facts, asRoot: false }, rlimitOnly, call);
    expect(indexOfRun(argv, ["--cap-drop", "ALL"])).toBeGreaterThan(0);
    expect(argv).toContain("--unshare-user");
    expect(argv).not.toContain("--cap-add");
    const capped = sandboxLauncher({ ...facts, asRoot: false }, plan, call);
    expect(indexOfRun(capped, ["--unshare-user", "--cap-add", "ALL"])).toBeGreaterThan(0);
  });
});

describe("preludeScript", () => {
  test("caps pid_max, makes /proc/sys read-only, sets rlimits, then drops every capability", () => {
    const script = preludeScript(facts, plan, limits);
    expect(script).toContain(`echo ${pidMaxFor(500)} > /proc/sys/kernel/pid_max`);
    expect(script).toContain("mount --bind -o ro /proc/sys /proc/sys");
    expect(script).toContain(`ulimit -S -v ${256 * 1024} && ulimit -H -v ${256 * 1024}`);
    expect(script).toContain("ulimit -S -t 5 && ulimit -H -t 6");
    expect(script).toContain("--bounding-set=-all");
    expect(script.endsWith('"$@"')).toBe(true);
  });

  test("limits switched off (null) add nothing", () => {
    const off = sandboxLimitsSchema.parse({ memoryBytes: null, pids: null, cpuSeconds: null });
    expect(preludeScript(facts, { memory: "off", pids: "off", cpu: "off" }, off)).toBe('exec "$@"');
  });

  test("pid_max never goes below the kernel's floor", () => {
    expect(pidMaxFor(8)).toBe(301);
    expect(pidMaxFor(1024)).toBe(1026);
  });
});
