import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";

/** The fake CLI agent used by the tests (see the comment at its top for what it does). */
export const fakeAgentPath = resolve(import.meta.dir, "../test/fixtures/fake-agent.sh");

/** Names of the sessions on a tmux socket (none when no server runs there). */
export async function tmuxSessionNames(socketPath: string, program = "tmux"): Promise<string[]> {
  const child = Bun.spawn([program, "-S", socketPath, "list-sessions", "-F", "#{session_name}"], {
    stdout: "pipe",
    stderr: "ignore",
  });
  const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  return code === 0 ? out.split("\n").filter((line) => line !== "") : [];
}

/** The pid of the process in a session's pane, or undefined when there is no such session. */
export async function panePid(
  socketPath: string,
  session: string,
  program = "tmux",
): Promise<number | undefined> {
  const child = Bun.spawn(
    [program, "-S", socketPath, "display-message", "-p", "-t", `=${session}:`, "#{pane_pid}"],
    {
      stdout: "pipe",
      stderr: "ignore",
    },
  );
  const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  return code === 0 && out.trim() !== "" ? Number(out.trim()) : undefined;
}

/** Kills the tmux server on a socket (test cleanup: the host leaves its sessions running by design). */
export async function killTmuxServer(socketPath: string, program = "tmux"): Promise<void> {
  const child = Bun.spawn([program, "-S", socketPath, "kill-server"], { stdout: "ignore", stderr: "ignore" });
  await child.exited;
}

/**
 * Pids of live processes whose environment holds `NAME=value` (an agent and everything it started
 * inherit it), read from /proc, so a test can prove nothing was left behind.
 */
export function processesWithEnv(name: string, value: string): number[] {
  const needle = `${name}=${value}\0`;
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = `${readFileSync(`/proc/${entry}/environ`, "latin1")}\0`;
      const state = readFileSync(`/proc/${entry}/stat`, "latin1");
      // a zombie has exited; only its parent's wait is missing
      if (environ.includes(needle) && !/^\d+ \(.*\) Z/.test(state)) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}
