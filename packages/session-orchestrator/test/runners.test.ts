import { afterEach, describe, expect, test } from "bun:test";
import { conversationStoreExtension } from "@dispatch/conversation-store";
import { type AnyExtension, DispatchError, defineExtension, StartupError } from "@dispatch/kernel";
import { createTestHost } from "@dispatch/kernel/testing";
import { providerConcurrencyExtension } from "@dispatch/provider-concurrency";
import { providersExtension } from "@dispatch/providers";
import { z } from "zod";
import { sessionOrchestratorExtension } from "../src/extension.ts";
import { type TurnRunner, type TurnRunnerContext, toolsPoint, turnRunnersPoint } from "../src/turn-runner.ts";
import { type OrchestratorHost, startOrchestratorHost } from "./fixtures/orchestrator-host.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A runner that answers with its argument and the user's text, through the context's sink. */
const parrot: TurnRunner = {
  id: "parrot",
  description: "repeats the message",
  validate: (argument) => (argument === "mute" ? "a mute parrot cannot answer" : undefined),
  async run(ctx: TurnRunnerContext) {
    if (ctx.message.text === "crash") throw new Error("the parrot flew away");
    if (ctx.message.text === "fail") return { status: "failed", error: "no cracker", code: "hungry" };
    if (ctx.message.text === "wait") {
      // holds a provider slot like an external agent, until cancelled
      const lease = await ctx.acquireSlot(ctx.conversation.provider);
      await ctx.emit([{ type: "agent.note", data: { holding: lease.providerId } }], "running");
      try {
        // the cancel may land while the note is being stored, before there is a listener to hear it
        await new Promise((_, reject) => {
          if (ctx.signal.aborted) reject(ctx.signal.reason);
          ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true });
        });
      } finally {
        lease.release();
      }
    }
    const history = await ctx.history();
    const [, argument] = ctx.conversation.runner.split(":");
    ctx.text(`${argument ?? "polly"} says `);
    ctx.text(ctx.message.text);
    await ctx.emit([
      { type: "agent.note", data: { seen: history.length, tools: ctx.tools.list().map((t) => t.name) } },
    ]);
    await ctx.appendMessage("assistant", [{ type: "text", text: ctx.message.text }]);
    ctx.addUsage({ inputTokens: 3, outputTokens: 2 });
    return { status: "completed", data: { parroted: true } };
  },
};

const parrotExtension: AnyExtension = defineExtension({
  manifest: { id: "parrot", version: "1.0.0", extends: ["session-orchestrator"] },
  register(reg) {
    reg.contribute(turnRunnersPoint, parrot);
    reg.contribute(toolsPoint, {
      name: "squawk",
      description: "makes a noise",
      input: z.object({}).strict(),
      run: async () => ({ output: "SQUAWK" }),
    });
  },
  activate() {},
});

async function host(): Promise<OrchestratorHost> {
  const h = await startOrchestratorHost({ extensions: [parrotExtension] });
  cleanups.push(() => h.stop());
  return h;
}

describe("turn runners", () => {
  test("a contributed runner runs a turn: events get seqs, text is coalesced, the message is stored", async () => {
    const h = await host();
    const conversation = await h.orchestrator.createConversation({
      workspaceId: "default",
      runner: "parrot:rio",
    });
    expect(conversation.runner).toBe("parrot:rio");
    const { turnId } = await h.orchestrator.startTurn({ conversationId: conversation.id, text: "hello" });
    const events = await h.untilFinal(conversation.id, turnId);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.map((e) => e.type)).toEqual(["turn.started", "text.delta", "agent.note", "turn.completed"]);
    expect(events[0]?.data).toMatchObject({ runner: "parrot:rio" });
    expect(events[1]?.data).toEqual({ text: "rio says hello" });
    expect(events[2]?.data).toEqual({ seen: 1, tools: ["squawk"] });
    expect(events[3]?.data).toMatchObject({ parroted: true, usage: { inputTokens: 3, outputTokens: 2 } });
    const messages = await h.store.messages.list(conversation.id);
    expect(messages.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect((await h.store.conversations.get(conversation.id))?.status).toBe("completed");
  });

  test("a runner's failure and a runner's throw both fail the turn with their message", async () => {
    const h = await host();
    const conversation = await h.orchestrator.createConversation({
      workspaceId: "default",
      runner: "parrot",
    });
    const failed = await h.orchestrator.startTurn({ conversationId: conversation.id, text: "fail" });
    const last = (await h.untilFinal(conversation.id, failed.turnId)).at(-1);
    expect(last?.type).toBe("turn.failed");
    expect(last?.data).toMatchObject({ error: "no cracker", code: "hungry" });
    const crashed = await h.orchestrator.startTurn({ conversationId: conversation.id, text: "crash" });
    const end = (await h.untilFinal(conversation.id, crashed.turnId)).at(-1);
    expect(end?.type).toBe("turn.failed");
    expect(end?.data).toMatchObject({ error: "the parrot flew away" });
  });

  test("cancel stops a runner that holds a provider slot; the slot is released", async () => {
    const h = await host();
    const conversation = await h.orchestrator.createConversation({
      workspaceId: "default",
      runner: "parrot",
    });
    const { turnId } = await h.orchestrator.startTurn({ conversationId: conversation.id, text: "wait" });
    const deadline = Date.now() + 5000;
    while (h.manager.snapshot().find((p) => p.providerId === "scripted")?.inFlight !== 1) {
      if (Date.now() > deadline) throw new Error("the runner never held its slot");
      await Bun.sleep(5);
    }
    expect(await h.orchestrator.cancelTurn(conversation.id)).toEqual({ turnId, status: "cancelled" });
    expect(h.manager.snapshot().find((p) => p.providerId === "scripted")?.inFlight).toBe(0);
  });

  test("creating a conversation checks the runner: unknown ids and refused arguments name the field", async () => {
    const h = await host();
    const unknown = await h.orchestrator
      .createConversation({ workspaceId: "default", runner: "cli:claude" })
      .catch((e) => e);
    expect(DispatchError.isInstance(unknown) && unknown.code).toBe("invalid_request");
    expect((unknown as DispatchError).message).toBe(
      'runner "cli" is not installed (installed: model, parrot)',
    );
    expect((unknown as DispatchError).details).toEqual({ field: "runner" });
    const mute = await h.orchestrator
      .createConversation({ workspaceId: "default", runner: "parrot:mute" })
      .catch((e) => e);
    expect((mute as DispatchError).message).toBe('runner "parrot:mute": a mute parrot cannot answer');
    const plain = await h.orchestrator.createConversation({ workspaceId: "default" });
    expect(plain.runner).toBe("model");
    expect(h.orchestrator.listRunners().map((r) => r.id)).toEqual(["model", "parrot"]);
  });

  test("a turn of a conversation whose runner is no longer installed fails with a clear error", async () => {
    const first = await startOrchestratorHost({ extensions: [parrotExtension] });
    const conversation = await first.orchestrator.createConversation({
      workspaceId: "default",
      runner: "parrot",
    });
    const dataDir = first.test.dataDir;
    await first.test.host.stop();
    const second = await startOrchestratorHost({ dataDir });
    cleanups.push(() => second.stop());
    const { turnId } = await second.orchestrator.startTurn({ conversationId: conversation.id, text: "hi" });
    const last = (await second.untilFinal(conversation.id, turnId)).at(-1);
    expect(last?.type).toBe("turn.failed");
    expect(last?.data).toMatchObject({
      code: "runner_unavailable",
      error: 'runner "parrot" is not installed (installed: model)',
    });
  });

  test("two runners with one id fail the check before anything activates", async () => {
    const twin = defineExtension({
      manifest: { id: "twin", version: "1.0.0", extends: ["session-orchestrator"] },
      register: (reg) => reg.contribute(turnRunnersPoint, { ...parrot }),
      activate() {},
    });
    const error = await createTestHost({
      extensions: [
        conversationStoreExtension,
        providerConcurrencyExtension,
        providersExtension,
        sessionOrchestratorExtension,
        parrotExtension,
        twin,
      ],
    }).catch((e) => e);
    expect(error).toBeInstanceOf(StartupError);
    expect((error as StartupError).problems.map((p) => p.message)).toEqual([
      '"parrot" is contributed to extension point "session-orchestrator.runners" by both "parrot" and "twin"',
    ]);
  });
});
