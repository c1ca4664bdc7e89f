import { describe, expect, test } from "bun:test";
import { sandboxLimitsSchema } from "../config.ts";
import { createLocalBackend } from "../local-backend.ts";
import { kernelAtLeast, limitPlan, probeSandbox } from "./sandbox-probe.ts";

const limits = sandboxLimitsSchema.parse({});
const base = {
  binary: "/usr/bin/bwrap",
  asRoot: true,
  pidMaxPerNamespace: true,
  setpriv: "/usr/bin/setpriv",
  prlimit: "/usr/bin/prlimit",
  home: "/root",
};

describe("probeSandbox", () => {
  test("a sandbox binary that does not exist is unavailable, naming the path and the fix", async () => {
    const probe = await probeSandbox(createLocalBackend(), {
      binary: "/nonexistent/bwrap",
      limits,
      hiddenPaths: [],
    });
    expect(probe.state).toBe("unavailable");
    expect(probe.reason).toContain('"/nonexistent/bwrap" was not found (no executable file there)');
    expect(probe.reason).toContain("apt-get install bubblewrap");
  });

  test("a binary name not on PATH is unavailable too", async () => {
    const probe = await probeSandbox(createLocalBackend(), {
      binary: "no-such-bwrap",
      limits,
      hiddenPaths: [],
    });
    expect(probe.state).toBe("unavailable");
    expect(probe.reason).toContain('"no-such-bwrap" was not found on PATH');
  });

  test("a binary that is there but is not bubblewrap fails the trial, with what it said", async () => {
    const probe = await probeSandbox(createLocalBackend(), { binary: "/bin/false", limits, hiddenPaths: [] });
    expect(probe.state).toBe("unavailable");
    expect(probe.reason).toContain("the trial command failed in the sandbox");
  });

  test("this machine's bubblewrap passes, with the limits it can enforce (bin/lib/ensure-bwrap.sh installs it)", async () => {
    const probe = await probeSandbox(createLocalBackend(), { binary: "bwrap", limits, hiddenPaths: [] });
    expect(probe.reason ?? "").not.toContain("was not found");
    expect(probe.state).toBe("ready");
    expect(probe.facts?.binary).toMatch(/^\//);
    expect(probe.limits?.memory).toBe("rlimit");
    expect(probe.limits?.cpu).toBe("rlimit");
  });
});

describe("limitPlan", () => {
  test("a cgroup caps memory and pids for the whole call", () => {
    expect(limitPlan(base, limits, "/sys/fs/cgroup/dispatch")).toEqual({
      memory: "cgroup",
      pids: "cgroup",
      cpu: "rlimit",
    });
  });

  test("root without per-namespace pid_max cannot cap pids (RLIMIT_NPROC does not bind uid 0)", () => {
    expect(limitPlan({ ...base, pidMaxPerNamespace: false }, limits).pids).toBe("none");
    expect(limitPlan({ ...base, pidMaxPerNamespace: false, asRoot: false }, limits).pids).toBe("rlimit");
    expect(limitPlan({ ...base, setpriv: undefined }, limits).pids).toBe("none");
  });

  test("without prlimit only RLIMIT_NPROC is lost (the shell sets the others); null limits are off", () => {
    expect(limitPlan({ ...base, prlimit: undefined }, limits)).toMatchObject({
      memory: "rlimit",
      cpu: "rlimit",
    });
    expect(
      limitPlan({ ...base, asRoot: false, pidMaxPerNamespace: false, prlimit: undefined }, limits).pids,
    ).toBe("none");
    const off = sandboxLimitsSchema.parse({ memoryBytes: null, pids: null, cpuSeconds: null });
    expect(limitPlan(base, off)).toEqual({ memory: "off", pids: "off", cpu: "off" });
  });

  test("kernel releases", () => {
    expect(kernelAtLeast("6.18.44-fc-v857", [6, 14])).toBe(true);
    expect(kernelAtLeast("6.14.0", [6, 14])).toBe(true);
    expect(kernelAtLeast("6.1.0-28-amd64", [6, 14])).toBe(false);
    expect(kernelAtLeast("5.15", [6, 14])).toBe(false);
    expect(kernelAtLeast("weird", [6, 14])).toBe(false);
  });
});
