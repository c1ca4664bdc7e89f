/**
 * The floor of the hot-path benchmark (`hot-path.ts --floor`): the least a host can do to keep
 * Dispatch's turn contract, written with none of Dispatch's code. It answers the load generator's
 * calls (create a conversation, watch its events over SSE, post a message) with Bun.serve, stores
 * what the real host stores for a one-step turn in one SQLite file with the conversation store's own
 * schema and pragmas (the turn, both messages, five events: turn.started, step.started, text.delta
 * coalesced per 50 ms, turn.completed), commits the writes of one event-loop turn together, reads the
 * history for each call, streams the model over fetch and parses its SSE with JSON.parse. No
 * extensions, validation, budgets, locks or telemetry: what is left is Bun, SQLite and the wire.
 *
 *   bun floor-host.ts serve --config FILE --data-dir DIR --port N   (the arguments of `dispatch serve`)
 */
import { Database } from "bun:sqlite";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { chunkText } from "./chunk-text.ts";

const { values: args } = parseArgs({
  allowPositionals: true,
  options: { config: { type: "string" }, "data-dir": { type: "string" }, port: { type: "string" } },
});
interface ProviderConfig {
  id: string;
  kind: "openai-compatible" | "anthropic";
  baseURL: string;
}
const config = JSON.parse(readFileSync(String(args.config), "utf8")) as { providers: ProviderConfig[] };
const providers = new Map(config.providers.map((p) => [p.id, p]));
const coalesceMs = 50;

mkdirSync(String(args["data-dir"]), { recursive: true });
const db = new Database(join(String(args["data-dir"]), "floor.db"), { create: true, strict: true });
db.run("PRAGMA journal_mode = WAL");
db.run("PRAGMA synchronous = NORMAL");
db.run("PRAGMA foreign_keys = ON");
const migrations = resolve(import.meta.dir, "../../../conversation-store/drizzle");
for (const file of readdirSync(migrations)
  .filter((f) => f.endsWith(".sql"))
  .sort()) {
  for (const statement of readFileSync(join(migrations, file), "utf8").split("--> statement-breakpoint"))
    db.run(statement);
}
db.run(
  "INSERT INTO workspaces (id, name, root, created_at, updated_at) VALUES ('default', 'default', '/', 0, 0)",
);

const insertConversation = db.prepare(
  "INSERT INTO conversations (id, workspace_id, provider, model, created_at, updated_at) VALUES (?, 'default', ?, ?, ?, ?)",
);
const insertTurn = db.prepare(
  "INSERT INTO turns (id, conversation_id, status, prompt_started_at, created_at, updated_at) VALUES (?, ?, 'running', ?, ?, ?)",
);
const finishTurn = db.prepare("UPDATE turns SET status = 'completed', updated_at = ? WHERE id = ?");
const insertMessage = db.prepare(
  "INSERT INTO messages (id, conversation_id, turn_id, role, parts, created_at) VALUES (?, ?, ?, ?, ?, ?)",
);
const touchConversation = db.prepare("UPDATE conversations SET updated_at = ? WHERE id = ?");
const history = db.prepare<{ role: string; parts: string }, [string]>(
  "SELECT role, parts FROM messages WHERE conversation_id = ? ORDER BY created_at, rowid",
);
const insertEvent = db.prepare(
  "INSERT INTO events (conversation_id, seq, type, turn_id, at, data) VALUES (?, ?, ?, ?, ?, ?)",
);

interface Conversation {
  provider: ProviderConfig;
  model: string;
  seq: number;
  subscribers: Set<ReadableStreamDefaultController<Uint8Array>>;
}
const conversations = new Map<string, Conversation>();
const encoder = new TextEncoder();

/** Writes asked for in one turn of the event loop share one transaction; frames go out after it. */
let pending: Array<() => void> = [];
let frames: Array<() => void> = [];
let committed = Promise.withResolvers<void>();
const commitAll = db.transaction((writes: Array<() => void>) => {
  for (const write of writes) write();
});
function write(fn: () => void): Promise<void> {
  if (pending.length === 0)
    setImmediate(() => {
      const writes = pending;
      const done = committed;
      pending = [];
      committed = Promise.withResolvers<void>();
      commitAll(writes);
      const publish = frames;
      frames = [];
      for (const send of publish) send();
      done.resolve();
    });
  pending.push(fn);
  return committed.promise;
}

/** Stores one event (inside a `write`) and sends it to the conversation's subscribers. */
function appendEvent(
  id: string,
  conversation: Conversation,
  type: string,
  turnId: string,
  data: unknown,
): void {
  conversation.seq += 1;
  const now = Date.now();
  const event = { seq: conversation.seq, type, turnId, at: new Date(now).toISOString(), data };
  const json = JSON.stringify(data);
  insertEvent.run(id, event.seq, type, turnId, now, json);
  const frame = encoder.encode(`id: ${event.seq}\ndata: ${JSON.stringify(event)}\n\n`);
  // published after the commit, as the real host does
  frames.push(() => {
    for (const subscriber of conversation.subscribers) subscriber.enqueue(frame);
  });
}

function requestOf(conversation: Conversation, id: string): { url: string; init: RequestInit } {
  const messages = history.all(id).map((row) => ({
    role: row.role,
    content: (JSON.parse(row.parts) as Array<{ text: string }>).map((part) => part.text).join(""),
  }));
  const anthropic = conversation.provider.kind === "anthropic";
  const body = anthropic
    ? { model: conversation.model, max_tokens: 1024, messages, stream: true }
    : { model: conversation.model, messages, stream: true, stream_options: { include_usage: true } };
  return {
    url: `${conversation.provider.baseURL}${anthropic ? "/messages" : "/chat/completions"}`,
    init: { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) },
  };
}

async function runTurn(id: string, conversation: Conversation, turnId: string): Promise<void> {
  const { url, init } = requestOf(conversation, id);
  const response = await fetch(url, init);
  await write(() => appendEvent(id, conversation, "step.started", turnId, { step: 1, attempt: 1 }));
  let reply = "";
  let buffer = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    timer = undefined;
    const text = buffer;
    buffer = "";
    if (text !== "") appendEvent(id, conversation, "text.delta", turnId, { text });
  };
  const decoder = new TextDecoder();
  let rest = "";
  for await (const bytes of response.body as ReadableStream<Uint8Array>) {
    const lines = (rest + decoder.decode(bytes, { stream: true })).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.startsWith("data: ")) continue;
      const text = chunkText(line.slice(6));
      reply += text;
      buffer += text;
      if (text !== "" && timer === undefined) timer = setTimeout(() => void write(flush), coalesceMs);
    }
  }
  if (timer !== undefined) clearTimeout(timer);
  await write(() => {
    flush();
    const now = Date.now();
    insertMessage.run(
      `m_${Bun.randomUUIDv7()}`,
      id,
      turnId,
      "assistant",
      JSON.stringify([{ type: "text", text: reply }]),
      now,
    );
    finishTurn.run(now, turnId);
    touchConversation.run(now, id);
    appendEvent(id, conversation, "turn.completed", turnId, { finishReason: "stop", steps: 1 });
  });
}

function events(conversation: Conversation): Response {
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      conversation.subscribers.add(c);
      c.enqueue(encoder.encode(": connected\n\n"));
    },
    cancel() {
      if (controller !== undefined) conversation.subscribers.delete(controller);
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
}

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(args.port),
  idleTimeout: 0,
  async fetch(req) {
    const path = new URL(req.url).pathname;
    if (path === "/health") return new Response("ok");
    if (req.method === "POST" && path === "/workspaces/default/conversations") {
      const body = (await req.json()) as { provider: string; model: string };
      const provider = providers.get(body.provider);
      if (provider === undefined) return Response.json({ error: "unknown provider" }, { status: 400 });
      const id = `c_${Bun.randomUUIDv7()}`;
      insertConversation.run(id, body.provider, body.model, Date.now(), Date.now());
      conversations.set(id, { provider, model: body.model, seq: 0, subscribers: new Set() });
      return Response.json({ id }, { status: 201 });
    }
    const match = /^\/conversations\/([^/]+)\/(events|messages)$/.exec(path);
    const id = match?.[1] ?? "";
    const conversation = conversations.get(id);
    if (conversation === undefined) return Response.json({ error: "not found" }, { status: 404 });
    if (match?.[2] === "events") return events(conversation);
    const { text } = (await req.json()) as { text: string };
    const turnId = `t_${Bun.randomUUIDv7()}`;
    const messageId = `m_${Bun.randomUUIDv7()}`;
    const started = Date.now();
    await write(() => {
      insertTurn.run(turnId, id, started, started, started);
      insertMessage.run(messageId, id, turnId, "user", JSON.stringify([{ type: "text", text }]), started);
      touchConversation.run(started, id);
      appendEvent(id, conversation, "turn.started", turnId, { provider: conversation.provider.id });
    });
    void runTurn(id, conversation, turnId).catch((error: unknown) => console.error("turn failed", error));
    return Response.json({ turnId, messageId }, { status: 202 });
  },
});

process.on("SIGTERM", () => {
  void server.stop(true).then(() => {
    db.close();
    process.exit(0);
  });
});
