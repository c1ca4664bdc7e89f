import { expect, test } from "bun:test";
import { createMemoryLogger } from "@dispatch/kernel";
import { ActivityLog } from "./activity-log.ts";
import { ActivityRecorder } from "./activity-recorder.ts";

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

test("an entry naming only its conversation gets its workspace, and later entries wait behind it", async () => {
  const log = new ActivityLog({ keep: 10, boot: "b" });
  const lookups: string[] = [];
  const pending = deferred<string | undefined>();
  const recorder = new ActivityRecorder({
    log,
    logger: createMemoryLogger().logger,
    workspaceOf: (id) => {
      lookups.push(id);
      return pending.promise;
    },
  });
  recorder.record("test", { type: "turn.started", summary: "a", conversationId: "c1" });
  recorder.record("test", { type: "workspace.starred", summary: "b", workspaceId: "w2" });
  // Nothing is in the log until the first entry's workspace is known: order is kept.
  expect(log.latest(10)).toEqual([]);
  pending.resolve("w1");
  await recorder.settled();
  expect(log.latest(10).map((e) => [e.summary, e.workspaceId])).toEqual([
    ["b", "w2"],
    ["a", "w1"],
  ]);
  // The conversation's workspace is remembered: the next entry goes in at once, with no read.
  recorder.record("test", { type: "turn.started", summary: "c", conversationId: "c1" });
  expect(log.latest(1)[0]?.workspaceId).toBe("w1");
  expect(lookups).toEqual(["c1"]);
});

test("a failed lookup still records the entry, without a workspace", async () => {
  const log = new ActivityLog({ keep: 10 });
  const { logger, records } = createMemoryLogger();
  const recorder = new ActivityRecorder({
    log,
    logger,
    workspaceOf: () => Promise.reject(new Error("db gone")),
  });
  recorder.record("test", { type: "turn.started", summary: "a", conversationId: "c1" });
  await recorder.settled();
  expect(log.latest(1)[0]?.workspaceId).toBeNull();
  expect(records.some((r) => r.msg === "could not read the workspace of an activity entry")).toBe(true);
});
