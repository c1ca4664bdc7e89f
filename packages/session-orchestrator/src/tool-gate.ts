import { createExtensionPoint, messageOf } from "@dispatch/kernel";
import type { RunnerEvent, RunnerTools } from "./turn-runner.ts";
import type { ToolContext, ToolDefinition, ToolResult } from "./types.ts";

/** One tool call as a gate sees it: its input already validated against the tool's schema. */
export interface GatedCall {
  readonly toolCallId: string;
  readonly toolName: string;
  readonly input: unknown;
  /** The call's main argument (`ToolDefinition.subject`): what permission globs match; undefined when the tool has none. */
  readonly subject: string | undefined;
}

/** What a gate gets besides the call: the tool's context plus the turn's event sink. */
export interface ToolGateContext extends ToolContext {
  readonly toolCallId: string;
  /** Persists, then publishes, events of the call's turn (after any buffered text). */
  emit(events: readonly RunnerEvent[]): Promise<void>;
}

/** A gate's answer: run the call, or refuse it with a reason the model reads as the tool's error. */
export type GateVerdict = { readonly allow: true } | { readonly allow: false; readonly reason: string };

/**
 * Decides, before a tool runs, whether it may (approvals, policies). Gates run in activation order of
 * their contributors; the first refusal wins. `check` may wait (for a person), but must settle when
 * the context's signal aborts; it runs with no provider slot held. A throw refuses the call.
 */
export interface ToolGate {
  /** A slug, unique among gates. */
  readonly id: string;
  check(call: GatedCall, context: ToolGateContext): Promise<GateVerdict>;
}

/**
 * The extension point through which tool gates are added. The orchestrator reads it once, at its
 * activation, and never drops a gate: a gate whose contributor failed since refuses every call.
 */
export const toolGatesPoint = createExtensionPoint<ToolGate>({
  id: "session-orchestrator.tool-gates",
  keyOf: (gate) => gate.id,
});

/**
 * The tools of one turn with every gate in front of each `run`. Without gates it is `tools` itself,
 * so a host without any pays nothing. Wrapped definitions are made once per tool per turn.
 */
export function gatedTools(
  tools: RunnerTools,
  gates: readonly ToolGate[],
  emit: (events: readonly RunnerEvent[]) => Promise<void>,
): RunnerTools {
  if (gates.length === 0) return tools;
  const wrapped = new Map<ToolDefinition, ToolDefinition>();
  const originals = new WeakMap<ToolDefinition, ToolDefinition>();
  const wrap = (tool: ToolDefinition): ToolDefinition => {
    let gated = wrapped.get(tool);
    if (gated === undefined) {
      gated = {
        ...tool,
        run: (input, context) => runGated(tool, gates, emit, input, context),
      };
      wrapped.set(tool, gated);
      originals.set(gated, tool);
    }
    return gated;
  };
  return {
    list: () => tools.list().map(wrap),
    get: (name) => {
      const tool = tools.get(name);
      return tool === undefined ? undefined : wrap(tool);
    },
    specOf: (tool) => tools.specOf(originals.get(tool) ?? tool),
  };
}

async function runGated(
  tool: ToolDefinition,
  gates: readonly ToolGate[],
  emit: (events: readonly RunnerEvent[]) => Promise<void>,
  input: unknown,
  context: ToolContext,
): Promise<ToolResult> {
  // A runner that gives no id still gets one, so an approval can be addressed.
  const toolCallId = context.toolCallId ?? crypto.randomUUID();
  const callContext: ToolContext = { ...context, toolCallId };
  for (const gate of gates) {
    let verdict: GateVerdict;
    try {
      const call: GatedCall = {
        toolCallId,
        toolName: tool.name,
        input,
        subject: tool.subject?.(input, callContext),
      };
      verdict = await gate.check(call, { ...callContext, toolCallId, emit });
    } catch (error) {
      verdict = {
        allow: false,
        reason: `the tool gate "${gate.id}" failed, so the call did not run: ${messageOf(error)}`,
      };
    }
    if (!verdict.allow) return { output: verdict.reason, isError: true };
  }
  return tool.run(input, callContext);
}
