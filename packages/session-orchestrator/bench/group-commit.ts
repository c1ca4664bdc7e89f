/**
 * CPU per write of the event writer's group commit (issue 25): 25 one-event writes to different
 * conversations per group, as a turn's text flushes come, through the log's `appendGroup` (one
 * synchronous write) against the store-transaction path the writer takes without it. Same store,
 * alternating rounds; medians of 7.
 *
 *   bun packages/session-orchestrator/bench/group-commit.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "@dispatch/bench-kit";
import { openConversationStore } from "@dispatch/conversation-store";
import { EventWriter } from "../src/event-writer.ts";

const dir = mkdtempSync(join(tmpdir(), "group-commit-"));
const store = openConversationStore({ path: join(dir, "store.db") });
const ids: string[] = [];
for (let i = 0; i < 100; i++) {
  ids.push((await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" })).id);
}
const transact = <T>(fn: () => Promise<T>) => store.transaction(() => fn());
const grouped = new EventWriter(store.events, () => {}, transact);
const transactional = new EventWriter(
  {
    append: (id, event) => store.events.append(id, event),
    appendMany: (id, batch) => store.events.appendMany(id, batch),
  },
  () => {},
  transact,
);
const event = {
  type: "text.delta",
  turnId: "t_bench",
  data: { text: "a chunk of streamed text, as a flush holds" },
};
const perGroup = 25;

/** CPU µs per write over `groups` groups. */
async function round(writer: EventWriter, groups: number): Promise<number> {
  const start = process.cpuUsage();
  for (let g = 0; g < groups; g++) {
    await Promise.all(
      Array.from({ length: perGroup }, (_, i) =>
        writer.write(ids[(g * perGroup + i) % ids.length] as string, [event]),
      ),
    );
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / (groups * perGroup);
}

try {
  await round(grouped, 200);
  await round(transactional, 200);
  const viaGroup: number[] = [];
  const viaTransaction: number[] = [];
  for (let r = 0; r < 7; r++) {
    viaTransaction.push(await round(transactional, 400));
    viaGroup.push(await round(grouped, 400));
  }
  const g = median(viaGroup);
  const t = median(viaTransaction);
  console.log(
    `CPU per write, groups of ${perGroup}: appendGroup ${g.toFixed(1)} µs, store transaction ${t.toFixed(1)} µs (ratio ${(g / t).toFixed(2)})`,
  );
} finally {
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
