import { expect, test } from "bun:test";
import { readSse, slowScripted, startApi } from "./harness.ts";

test("an SSE client that disconnects mid-turn and resumes with Last-Event-ID sees every event exactly once", async () => {
  const api = await startApi(slowScripted(1, 40, 25));
  try {
    const conv = await (
      await api.client.workspaces[":id"].conversations.$post({ param: { id: "default" }, json: {} })
    ).json();
    await api.client.conversations[":id"].messages.$post({ param: { id: conv.id }, json: { text: "go" } });

    const first = await readSse(
      await api.fetch(`/conversations/${conv.id}/events`),
      (_m, all) => all.length >= 4,
    );
    const lastId = first.at(-1)?.id ?? 0;
    expect(first.at(-1)?.data.type).not.toBe("turn.completed");

    const second = await readSse(
      await api.fetch(`/conversations/${conv.id}/events`, { headers: { "Last-Event-ID": String(lastId) } }),
      (m) => m.data.type === "turn.completed",
    );
    const ids = [...first, ...second].map((m) => m.id);
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    expect(second.at(-1)?.data.type).toBe("turn.completed");

    // ?after= works the same way, and a bad value is a 400.
    const replay = await readSse(
      await api.fetch(`/conversations/${conv.id}/events?after=2`),
      (m) => m.id === ids.length,
    );
    expect(replay[0]?.id).toBe(3);
    expect((await api.fetch(`/conversations/${conv.id}/events?after=-1`)).status).toBe(400);
  } finally {
    await api.stop();
  }
});

test("closed SSE clients leave no stream behind", async () => {
  const api = await startApi();
  try {
    const conv = await (
      await api.client.workspaces[":id"].conversations.$post({ param: { id: "default" }, json: {} })
    ).json();
    for (let i = 0; i < 20; i++) {
      const controller = new AbortController();
      const res = await api.fetch(`/conversations/${conv.id}/events`, { signal: controller.signal });
      expect(res.status).toBe(200);
      controller.abort();
      await res.body?.cancel().catch(() => undefined);
    }
    const deadline = Date.now() + 5000;
    let open = -1;
    while (Date.now() < deadline) {
      const health = (await (await api.fetch("/health")).json()) as {
        extensions: Array<{ id: string; health?: { sseClients?: number } }>;
      };
      open = health.extensions.find((e) => e.id === "transport-http")?.health?.sseClients ?? -1;
      if (open === 0) break;
      await Bun.sleep(20);
    }
    expect(open).toBe(0);
  } finally {
    await api.stop();
  }
});
