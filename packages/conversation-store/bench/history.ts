/**
 * A turn's history read (`messages.list`, every turn reads its conversation's whole history) against
 * the same SELECT as a raw prepared bun:sqlite statement with JSON.parse of each row's parts, on one
 * file, alternating; medians of 7 rounds, for conversations of 20 and 200 messages. The store keeps
 * a history it read lately (`HistoryCache`), so from the second read on it reads only the rows after
 * it: the raw read is what every read cost without the cache.
 *
 *   bun packages/conversation-store/bench/history.ts
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "@dispatch/bench-kit";
import { openConversationStore } from "../src/index.ts";

const dir = mkdtempSync(join(tmpdir(), "dispatch-bench-history-"));
const path = join(dir, "store.db");
const store = openConversationStore({ path });
const reads = 2_000;

async function conversationOf(messages: number): Promise<string> {
  const { id } = await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
  for (let i = 0; i < messages; i += 2) {
    const { turn } = await store.turns.claim({
      conversationId: id,
      text: `question ${i} `.repeat(10),
      promptStartedAt: Date.now(),
    });
    await store.messages.append({
      conversationId: id,
      turnId: turn.id,
      role: "assistant",
      parts: [{ type: "text", text: `answer ${i} `.repeat(30) }],
    });
    await store.turns.setStatus(turn.id, "completed");
  }
  return id;
}

const raw = new Database(path, { readonly: true });
const rawList = raw.prepare<[string, string, string | null, string, string, number], [string]>(
  "SELECT id, conversation_id, turn_id, role, parts, created_at FROM messages WHERE conversation_id = ? ORDER BY created_at, rowid",
);

try {
  for (const size of [20, 200]) {
    const id = await conversationOf(size);
    const viaStore: number[] = [];
    const viaRaw: number[] = [];
    for (let round = 0; round < 8; round++) {
      let start = performance.now();
      for (let i = 0; i < reads; i++) await store.messages.list(id);
      if (round > 0) viaStore.push(((performance.now() - start) * 1000) / reads);
      start = performance.now();
      for (let i = 0; i < reads; i++) {
        for (const row of rawList.values(id)) JSON.parse(row[4] as string);
      }
      if (round > 0) viaRaw.push(((performance.now() - start) * 1000) / reads);
    }
    const s = median(viaStore);
    const r = median(viaRaw);
    console.log(
      `${size} messages: store ${s.toFixed(1)} µs per read, raw ${r.toFixed(1)} µs (ratio raw/store ${(r / s).toFixed(2)})`,
    );
  }
} finally {
  raw.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
