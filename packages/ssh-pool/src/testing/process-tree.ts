import { readdirSync, readFileSync } from "node:fs";

/** Parent pid of `pid` from /proc, or undefined when the process is gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may itself contain spaces or parentheses.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ppid = Number(rest[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every live descendant of `root` (children, grandchildren, ...), found through /proc. sshd puts
 * each connection handler in its own session, so killing the listener's process group misses them.
 */
export function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const ppid = parentOf(pid);
    if (ppid === undefined) continue;
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
  }
  const found: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const next = stack.pop() as number;
    for (const child of children.get(next) ?? []) {
      found.push(child);
      stack.push(child);
    }
  }
  return found;
}

/** Sends SIGKILL to `root` and all its descendants; gone processes are ignored. */
export function killTree(root: number): void {
  const all = [root, ...descendantsOf(root)];
  for (const pid of all) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone: nothing to do.
    }
  }
}
