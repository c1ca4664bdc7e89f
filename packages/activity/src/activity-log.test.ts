import { expect, test } from "bun:test";
import { ActivityLog, parseActivityId } from "./activity-log.ts";

const input = (n: number) => ({ type: "test.entry", summary: `entry ${n}`, data: { n } });

test("ids count up within a process; latest is newest first and at most `keep` are kept", () => {
  const log = new ActivityLog({ keep: 3, boot: "b1", clock: () => 0 });
  expect(log.lastId).toBeNull();
  for (let n = 1; n <= 5; n++) log.append("test", input(n));
  expect(log.lastId).toBe("b1.5");
  expect(log.latest(10).map((e) => e.id)).toEqual(["b1.5", "b1.4", "b1.3"]);
  expect(log.latest(2).map((e) => e.summary)).toEqual(["entry 5", "entry 4"]);
  const [entry] = log.latest(1);
  expect(entry).toEqual({
    id: "b1.5",
    at: new Date(0).toISOString(),
    type: "test.entry",
    source: "test",
    summary: "entry 5",
    workspaceId: null,
    conversationId: null,
    turnId: null,
    taskId: null,
    data: { n: 5 },
  });
});

test("latest and after return copies: changing one changes nothing kept", () => {
  const log = new ActivityLog({ keep: 10, boot: "b1" });
  log.append("test", input(1));
  const [first] = log.latest(1);
  first!.summary = "changed";
  (first!.data as { n: number }).n = 99;
  expect(log.latest(1)[0]?.summary).toBe("entry 1");
  expect(log.after({ boot: "b1", n: 0 })[0]?.data).toEqual({ n: 1 });
});

test("after(id) of this process resumes after it; an id of another process gets everything kept", () => {
  const log = new ActivityLog({ keep: 3, boot: "b2" });
  for (let n = 1; n <= 4; n++) log.append("test", input(n));
  expect(log.after({ boot: "b2", n: 2 }).map((e) => e.id)).toEqual(["b2.3", "b2.4"]);
  expect(log.after({ boot: "b2", n: 4 })).toEqual([]);
  // Past the ring's start: what is kept, oldest first.
  expect(log.after({ boot: "b2", n: 0 }).map((e) => e.id)).toEqual(["b2.2", "b2.3", "b2.4"]);
  expect(log.after({ boot: "b1", n: 99 }).map((e) => e.id)).toEqual(["b2.2", "b2.3", "b2.4"]);
});

test("listeners see each new entry in order until they stop", () => {
  const log = new ActivityLog({ keep: 10 });
  const seen: string[] = [];
  const stop = log.listen((e) => seen.push(e.summary));
  log.append("test", input(1));
  stop();
  log.append("test", input(2));
  expect(seen).toEqual(["entry 1"]);
  expect(log.listenerCount).toBe(0);
});

test("parseActivityId takes `<boot>.<n>` only", () => {
  expect(parseActivityId("m3x9k2.17")).toEqual({ boot: "m3x9k2", n: 17 });
  for (const bad of ["17", "a.b", "A.1", ".1", "a.", "a.1.2", "a.-1"])
    expect(parseActivityId(bad)).toBeUndefined();
  expect(() => new ActivityLog({ keep: 0 })).toThrow("Expected `keep` to be an integer >= 1, got `0`");
});
