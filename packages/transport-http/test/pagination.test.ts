import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { conversationStoreRef } from "@dispatch/conversation-store";
import { ConversationList, ErrorBody, MessageList, WorkspaceList } from "@dispatch/wire";
import { type ApiHarness, startApi } from "./harness.ts";

let api: ApiHarness;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api.stop();
});

/** Follows `nextCursor` from the first page to the last; `between` runs after each page. */
async function walk<T>(
  path: string,
  key: "workspaces" | "conversations" | "messages",
  limit: number | undefined,
  between: () => Promise<void> = async () => {},
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query = new URLSearchParams();
    if (limit !== undefined) query.set("limit", String(limit));
    if (cursor !== null) query.set("cursor", cursor);
    const res = await api.fetch(`${path}?${query}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown> & { nextCursor: string | null };
    items.push(...(body[key] as T[]));
    cursor = body.nextCursor;
    pages++;
    if (cursor !== null) await between();
  } while (cursor !== null);
  return { items, pages };
}

describe("GET /workspaces", () => {
  test("default 100 per page, at most 500, the contract's order across pages, stable while others create", async () => {
    const store = api.testHost.get(conversationStoreRef);
    for (let i = 0; i < 259; i++) {
      const name = `${String.fromCharCode(97 + (i % 26))}-${i}`;
      await store.workspaces.create({ id: `page-${i}`, name, root: "/tmp/x" });
    }
    for (const id of ["page-7", "page-100", "page-258"]) await store.workspaces.star(id);
    const expected = (await store.workspaces.list()).map((w) => w.id);
    expect(expected.length).toBe(260);

    const first = WorkspaceList.parse(await (await api.fetch("/workspaces")).json());
    expect(first.workspaces.length).toBe(100);
    expect(first.nextCursor).toEqual(expect.any(String));
    expect(first.workspaces.slice(0, 3).every((w) => w.starred)).toBe(true);
    const whole = WorkspaceList.parse(await (await api.fetch("/workspaces?limit=500")).json());
    expect(whole.workspaces.map((w) => w.id)).toEqual(expected);
    expect(whole.nextCursor).toBeNull();

    let made = 0;
    const walked = await walk<{ id: string }>("/workspaces", "workspaces", 7, async () => {
      await store.workspaces.create({ id: `late-${made}`, name: `m-late-${made}`, root: "/tmp/x" });
      made++;
    });
    const ids = walked.items.map((w) => w.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => !id.startsWith("late-"))).toEqual(expected);
    for (const id of (await store.workspaces.list())
      .map((w) => w.id)
      .filter((id) => id.startsWith("page-"))) {
      await store.workspaces.delete(id);
    }
    for (let i = 0; i < made; i++) await store.workspaces.delete(`late-${i}`);
  });

  test("the typed client pages too", async () => {
    const res = await api.client.workspaces.$get({ query: { limit: "1" } });
    const body = await res.json();
    expect(body.workspaces).toHaveLength(1);
    expect(body.nextCursor === null || typeof body.nextCursor === "string").toBe(true);
    expect((await (await api.client.workspaces.$get()).json()).workspaces.length).toBeGreaterThan(0);
  });
});

describe("conversations and messages", () => {
  test("conversations come newest first and messages oldest first, page by page, each item once", async () => {
    const store = api.testHost.get(conversationStoreRef);
    await store.workspaces.create({ id: "paged", root: "/tmp/paged" });
    const made: string[] = [];
    for (let i = 0; i < 23; i++) {
      made.push(
        (await store.conversations.create({ workspaceId: "paged", provider: "scripted", model: "demo" })).id,
      );
    }
    const conversations = await walk<{ id: string }>("/workspaces/paged/conversations", "conversations", 5);
    expect(conversations.pages).toBe(5);
    expect(conversations.items.map((c) => c.id)).toEqual(made.toReversed());
    ConversationList.parse({ conversations: conversations.items, nextCursor: null });

    const conversationId = made[0] as string;
    const texts: string[] = [];
    for (let i = 0; i < 12; i++) {
      texts.push(`message ${i}`);
      await store.messages.append({
        conversationId,
        turnId: null,
        role: "user",
        parts: [{ type: "text", text: `message ${i}` }],
      });
    }
    let late = 0;
    const messages = await walk<{ parts: Array<{ text: string }> }>(
      `/conversations/${conversationId}/messages`,
      "messages",
      5,
      async () => {
        if (late < 2) {
          texts.push(`late ${late}`);
          await store.messages.append({
            conversationId,
            turnId: null,
            role: "user",
            parts: [{ type: "text", text: `late ${late++}` }],
          });
        }
      },
    );
    expect(messages.items.map((m) => m.parts[0]?.text)).toEqual(texts);
    MessageList.parse({ messages: messages.items, nextCursor: null });
  });
});

describe("bad paging input", () => {
  test("a limit out of 1..500 or a cursor from elsewhere is 400 naming the parameter", async () => {
    for (const query of ["limit=0", "limit=501", "limit=abc", "cursor=nonsense"]) {
      const res = await api.fetch(`/workspaces?${query}`);
      expect(`${query} ${res.status}`).toBe(`${query} 400`);
      const body = ErrorBody.parse(await res.json());
      expect(body.error.code).toBe("invalid_request");
      expect(body.error.message).toContain(query.split("=")[0] as string);
    }
    const store = api.testHost.get(conversationStoreRef);
    await store.workspaces.create({ id: "cursor-a", root: "/tmp/a" });
    const page = WorkspaceList.parse(await (await api.fetch("/workspaces?limit=1")).json());
    const res = await api.fetch(`/workspaces/default/conversations?cursor=${page.nextCursor}`);
    expect(res.status).toBe(400);
  });

  test("OpenAPI documents limit and cursor on every list, and nextCursor in its answer", async () => {
    const doc = (await (await api.fetch("/openapi.json")).json()) as {
      paths: Record<string, { get: { parameters?: Array<{ name: string; in: string }>; responses: object } }>;
      components: { schemas: Record<string, unknown> };
    };
    for (const path of ["/workspaces", "/workspaces/{id}/conversations", "/conversations/{id}/messages"]) {
      const get = doc.paths[path]?.get;
      const query = (get?.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name);
      expect(`${path} ${query.join(",")}`).toBe(`${path} limit,cursor`);
      // the answer is a named component: look through the reference
      const ref = /"#\/components\/schemas\/(\w+)"/.exec(JSON.stringify(get?.responses))?.[1] ?? "";
      expect(JSON.stringify(doc.components.schemas[ref])).toContain('"nextCursor"');
    }
  });
});
