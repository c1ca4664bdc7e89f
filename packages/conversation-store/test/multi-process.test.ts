import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type OpenedConversationStore, openConversationStore } from "../src/index.ts";

// The host runs one writer per process, but nothing stops a second process (a CLI, a migration, an
// operator's script) from opening the file: BEGIN IMMEDIATE plus busy_timeout keep seqs and claims right.

const processes = 4;
const script = join(import.meta.dir, "fixtures", "contender-child.ts");

interface Child {
  /** Resolves with the child's first line, "ready". */
  ready: Promise<string>;
  send(line: string): void;
  next(): Promise<Record<string, unknown>>;
  proc: Bun.Subprocess<"pipe", "pipe", "pipe">;
}

let dir: string;
let store: OpenedConversationStore;
const children: Child[] = [];

function spawnChild(path: string): Child {
  const proc = Bun.spawn([process.execPath, script, path], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const lines: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of proc.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      for (const line of parts) {
        const waiter = waiters.shift();
        if (waiter) waiter(line);
        else lines.push(line);
      }
    }
  })();
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      const line = lines.shift();
      if (line !== undefined) return resolve(line);
      const timer = setTimeout(() => reject(new Error("child did not answer within 20 s")), 20_000);
      waiters.push((l) => {
        clearTimeout(timer);
        resolve(l);
      });
    });
  return {
    proc,
    send(line) {
      proc.stdin.write(`${line}\n`);
      proc.stdin.flush();
    },
    ready: nextLine(),
    next: async () => JSON.parse(await nextLine()) as Record<string, unknown>,
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "dispatch-multiproc-"));
  const path = join(dir, "dispatch.db");
  // Migrate once up front, so the children only contend on data, not on the first migration.
  store = openConversationStore({ path });
  for (let i = 0; i < processes; i++) children.push(spawnChild(path));
  for (const child of children) expect(await child.ready).toBe("ready");
});

afterAll(async () => {
  for (const child of children) {
    child.send("exit");
    const exited = await Promise.race([child.proc.exited, Bun.sleep(5_000).then(() => "timeout" as const)]);
    if (exited === "timeout") child.proc.kill("SIGKILL");
  }
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("several processes on one database", () => {
  test("concurrent appenders in separate processes produce exactly 1..N", async () => {
    const conv = await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
    const perChild = 300;
    const startAt = Date.now() + 300;
    for (const [i, child] of children.entries()) child.send(`append ${conv.id} p${i} ${perChild} ${startAt}`);
    const answers = await Promise.all(children.map((child) => child.next()));
    expect(answers.every((a) => a.ok === true)).toBe(true);

    const events = await store.events.listAfter(conv.id, 0, 10_000);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: processes * perChild }, (_, i) => i + 1));
    for (let i = 0; i < processes; i++) {
      const mine = events.filter((e) => e.data.tag === `p${i}`);
      // Each process's events are all there, once, in the order it wrote them.
      expect(mine.map((e) => e.data.i)).toEqual(Array.from({ length: perChild }, (_, j) => j));
      expect(mine.map((e) => e.seq)).toEqual((answers[i]?.seqs as number[]) ?? []);
    }
    // Not vacuous: the processes really did interleave.
    const switches = events.filter((e, i) => i > 0 && e.data.tag !== events[i - 1]?.data.tag).length;
    expect(switches).toBeGreaterThan(processes);
  }, 60_000);

  test("a workspace starred by another process is in the next list, though the list was cached", async () => {
    await store.workspaces.create({ id: "elsewhere", name: "Elsewhere", root: "/elsewhere" });
    expect((await store.workspaces.get("elsewhere"))?.starred).toBe(false);
    const child = children[0] as Child;
    child.send("star elsewhere");
    expect(await child.next()).toEqual({ ok: true, starred: true });
    expect((await store.workspaces.get("elsewhere"))?.starred).toBe(true);
    expect((await store.workspaces.list())[0]?.id).toBe("elsewhere");
  });

  test("simultaneous claims from separate processes: exactly one wins each time", async () => {
    for (let round = 0; round < 5; round++) {
      const conv = await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
      for (const child of children) child.send(`claim ${conv.id}`);
      const answers = await Promise.all(children.map((child) => child.next()));
      expect(answers.filter((a) => a.ok === true).length).toBe(1);
      expect(answers.filter((a) => a.ok === false).map((a) => a.code)).toEqual(
        Array(processes - 1).fill("conversation_busy"),
      );
      const winner = answers.find((a) => a.ok === true)?.turnId;
      expect((await store.conversations.get(conv.id))?.activeTurnId).toBe(winner as string);
    }
  }, 60_000);
});
