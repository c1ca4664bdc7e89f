import { afterEach, describe, expect, test } from "bun:test";
import { type AnyExtension, createServiceRef, defineExtension } from "@dispatch/kernel";
import { z } from "zod";
import { type GatedCall, type ToolGate, toolGatesPoint } from "../src/tool-gate.ts";
import { toolsPoint } from "../src/turn-runner.ts";
import { type OrchestratorHost, startOrchestratorHost, waitFor } from "./fixtures/orchestrator-host.ts";

const hosts: OrchestratorHost[] = [];
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop();
});

const script = {
  replies: [
    {
      when: "^say",
      steps: [
        { tool: "say", input: { text: "allowed words" } },
        { tool: "say", input: { text: "forbidden words" } },
        { text: "done" },
      ],
    },
    { when: "^wait", steps: [{ tool: "say", input: { text: "wait for me" } }, { text: "after" }] },
  ],
  fallback: { steps: [{ text: "hi" }] },
};

/** `say`: its main argument is its text. Counts its runs, so a refused call provably did not run. */
function sayExtension(runs: string[]): AnyExtension {
  return defineExtension({
    manifest: { id: "say", version: "1.0.0", extends: ["session-orchestrator"] },
    register(reg) {
      reg.contribute(toolsPoint, {
        name: "say",
        description: "says its text",
        input: z.object({ text: z.string() }).strict(),
        subject: ({ text }: { text: string }) => text,
        run: async ({ text }: { text: string }) => {
          runs.push(text);
          return { output: `said ${text}` };
        },
      });
    },
    activate() {},
  });
}

function gateExtension(gate: ToolGate, id = "gate"): AnyExtension {
  return defineExtension({
    manifest: { id, version: "1.0.0", extends: ["session-orchestrator"] },
    register(reg) {
      reg.contribute(toolGatesPoint, gate);
    },
    activate() {},
  });
}

async function start(extensions: AnyExtension[]): Promise<OrchestratorHost> {
  const host = await startOrchestratorHost({ script, extensions });
  hosts.push(host);
  return host;
}

describe("tool gates (toolGatesPoint)", () => {
  test("a gate sees each call with its id and subject; a refusal is the tool's error and the tool does not run", async () => {
    const runs: string[] = [];
    const seen: GatedCall[] = [];
    const host = await start([
      sayExtension(runs),
      gateExtension({
        id: "words",
        async check(call, context) {
          seen.push(call);
          await context.emit([{ type: "gate.checked", data: { toolCallId: call.toolCallId } }]);
          return call.subject?.startsWith("forbidden")
            ? { allow: false, reason: "no forbidden words here" }
            : { allow: true };
        },
      }),
    ]);
    const conversationId = await host.newConversation();
    const { turnId } = await host.orchestrator.startTurn({ conversationId, text: "say" });
    const events = await host.untilFinal(conversationId, turnId);
    expect(events.at(-1)?.type).toBe("turn.completed");
    expect(runs).toEqual(["allowed words"]);
    expect(seen.map((c) => [c.toolName, c.subject])).toEqual([
      ["say", "allowed words"],
      ["say", "forbidden words"],
    ]);
    const calls = events.filter((e) => e.type === "tool.call").map((e) => e.data.toolCallId);
    expect(seen.map((c) => c.toolCallId)).toEqual(calls as string[]);
    // The gate's own events land in the turn, before each call's result.
    const order = events
      .filter((e) => e.type === "gate.checked" || e.type === "tool.result")
      .map((e) => e.type);
    expect(order).toEqual(["gate.checked", "tool.result", "gate.checked", "tool.result"]);
    const results = events.filter((e) => e.type === "tool.result").map((e) => e.data);
    expect(results[0]).toMatchObject({ output: "said allowed words", isError: false });
    expect(results[1]).toMatchObject({ output: "no forbidden words here", isError: true });
  });

  test("a gate that throws refuses the call (fail closed), naming the gate", async () => {
    const runs: string[] = [];
    const host = await start([
      sayExtension(runs),
      gateExtension({
        id: "broken",
        async check() {
          throw new Error("policy store unreachable");
        },
      }),
    ]);
    const conversationId = await host.newConversation();
    const { turnId } = await host.orchestrator.startTurn({ conversationId, text: "say" });
    const events = await host.untilFinal(conversationId, turnId);
    expect(runs).toEqual([]);
    const result = events.find((e) => e.type === "tool.result")?.data;
    expect(result?.isError).toBe(true);
    expect(String(result?.output)).toContain('the tool gate "broken" failed');
    expect(String(result?.output)).toContain("policy store unreachable");
  });

  test("a gate whose extension failed to activate refuses every call instead of dropping out", async () => {
    const runs: string[] = [];
    const policyRef = createServiceRef<{ allows(): boolean }>("failing-policy");
    const failing = defineExtension({
      manifest: { id: "failing-policy", version: "1.0.0", extends: ["session-orchestrator"] },
      provides: [policyRef],
      register(reg) {
        const policy = reg.provided(policyRef);
        reg.contribute(toolGatesPoint, {
          id: "failing-policy",
          check: async () => (policy().allows() ? { allow: true } : { allow: false, reason: "no" }),
        });
      },
      activate() {
        throw new Error("cannot load the policy");
      },
    });
    const host = await start([sayExtension(runs), failing]);
    const conversationId = await host.newConversation();
    const { turnId } = await host.orchestrator.startTurn({ conversationId, text: "say" });
    const events = await host.untilFinal(conversationId, turnId);
    expect(runs).toEqual([]);
    const results = events.filter((e) => e.type === "tool.result").map((e) => e.data);
    expect(results).toHaveLength(2);
    for (const result of results) {
      expect(result.isError).toBe(true);
      expect(String(result.output)).toContain('the tool gate "failing-policy" failed');
    }
  });

  test("a gate waiting on a person holds no provider slot, and cancel ends the wait", async () => {
    const runs: string[] = [];
    let aborted = false;
    let waiting = false;
    const host = await start([
      sayExtension(runs),
      gateExtension({
        id: "person",
        check: (_call, context) =>
          new Promise((resolve) => {
            waiting = true;
            context.signal.addEventListener("abort", () => {
              aborted = true;
              resolve({ allow: false, reason: "cancelled while waiting" });
            });
          }),
      }),
    ]);
    const conversationId = await host.newConversation();
    await host.orchestrator.startTurn({ conversationId, text: "wait" });
    await waitFor(() => waiting);
    expect(host.manager.snapshot().every((s) => s.inFlight === 0)).toBe(true);
    const { status } = await host.orchestrator.cancelTurn(conversationId);
    expect(status).toBe("cancelled");
    expect(aborted).toBe(true);
    expect(runs).toEqual([]);
  });
});
