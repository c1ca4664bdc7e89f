import { messageOf } from "@dispatch/kernel";
import type { ModelRequest } from "@dispatch/providers";
import type { Workspace } from "@dispatch/wire";
import { compactIfNeeded } from "./compaction.ts";
import type { OrchestratorConfig } from "./config.ts";
import { LoopGuard } from "./loop-guard.ts";
import { toModelMessages } from "./model-messages.ts";
import { type StepAnswer, streamModelStep } from "./model-step.ts";
import { PromptView } from "./prompt-view.ts";
import { SummaryCache } from "./summary-cache.ts";
import { buildSystemPrompt, readAgentsFile } from "./system-prompt.ts";
import { TokenMeter } from "./token-meter.ts";
import { executeToolCall, type ToolCallResult, toolResultEventData } from "./tool-execution.ts";
import type { RunnerOutcome, TurnRunner, TurnRunnerContext } from "./turn-runner.ts";

/** The id of the built-in runner. */
export const modelRunnerId = "model";

/** The settings the built-in runner reads. */
export type ModelRunnerConfig = Pick<
  OrchestratorConfig,
  "maxSteps" | "systemPrompt" | "loopGuard" | "compaction"
>;

/**
 * The built-in runner (DESIGN §5, §16): build the request, compact it when it would pass the model's
 * context window, stream one model call through the providers service (which holds a slot only
 * while it streams), run the requested tools with no slot held (the loop guard refusing repeats),
 * repeat until the model answers without tools or `maxSteps` is reached.
 */
export function createModelRunner(config: ModelRunnerConfig): TurnRunner {
  // one per runner, and so per host: the rolling summaries of its conversations
  const summaries = new SummaryCache();
  return {
    id: modelRunnerId,
    description: "the built-in agent loop: model calls and tools",
    validate: (argument) =>
      argument === undefined ? undefined : `the model runner takes no argument (got "${argument}")`,
    run: (context) => runModelLoop(context, config, summaries),
  };
}

async function runModelLoop(
  ctx: TurnRunnerContext,
  config: ModelRunnerConfig,
  summaries: SummaryCache,
): Promise<RunnerOutcome> {
  const { conversation, workspace, tools } = ctx;
  const [history, agentsFile] = await Promise.all([ctx.history(), readAgentsFile(workspace)]);
  const definitions = tools.list();
  const view = new PromptView({
    model: conversation.model,
    system: buildSystemPrompt({ workspace, tools: definitions, agentsFile, extra: config.systemPrompt }),
    messages: toModelMessages(history),
    tools: definitions.map((tool) => tools.specOf(tool)),
  });
  const meter = new TokenMeter(summaries.restore(conversation.id, view));
  const guard = new LoopGuard(config.loopGuard.repeats);
  const maxSteps = ctx.limits.maxSteps ?? config.maxSteps;
  let steps = 0;
  const ended = (outcome: RunnerOutcome): RunnerOutcome => {
    summaries.remember(conversation.id, view, meter.rate);
    return { ...outcome, data: { ...outcome.data, steps } };
  };
  for (let step = 1; step <= maxSteps; step += 1) {
    if (ctx.signal.aborted) return ended({ status: "failed", error: messageOf(ctx.signal.reason) });
    if (ctx.contextWindow !== undefined) {
      const compaction = await compactIfNeeded(ctx, view, meter, {
        ...config.compaction,
        contextWindow: ctx.contextWindow,
      });
      if (compaction.status === "failed") return ended(compaction.outcome);
    }
    steps = step;
    const request = view.request();
    const answer = await modelStep(ctx, step, request);
    if (answer.usage.inputTokens > 0) meter.calibrate(request, answer.usage.inputTokens);
    if (answer.parts.length > 0) {
      const stored = ctx.appendMessage("assistant", answer.parts);
      // A step whose tools run next waits, so its calls are stored before they run. The reply that
      // ends the turn is not waited for: the turn's final write then shares its group commit (one
      // commit fewer on every turn's way out), and a reply that was not stored fails the turn there.
      if (answer.calls.length > 0) await stored;
      view.push({ role: "assistant", parts: answer.parts });
    }
    if (ctx.signal.aborted) return ended({ status: "failed", error: messageOf(ctx.signal.reason) });
    if (answer.error !== undefined) {
      return ended({
        status: "failed",
        error: answer.error.message,
        code: answer.error.code,
        data: { step },
      });
    }
    if (answer.calls.length === 0)
      return ended({ status: "completed", data: { finishReason: answer.finishReason } });
    const { results, loop } = await runTools(ctx, workspace, answer, guard);
    await ctx.appendMessage(
      "tool",
      results.map((r) => ({ type: "tool-result", ...r })),
    );
    view.push({ role: "tool", results });
    if (loop !== undefined)
      return ended({ status: "failed", error: loop, code: "loop_detected", data: { step } });
  }
  return ended({
    status: "failed",
    error: `reached maxSteps (${maxSteps}) while the model was still calling tools; the turn stopped there`,
    code: "max_steps",
  });
}

async function modelStep(ctx: TurnRunnerContext, step: number, request: ModelRequest): Promise<StepAnswer> {
  const answer = await streamModelStep({
    step,
    providerId: ctx.conversation.provider,
    request,
    providers: ctx.providers,
    context: {
      signal: ctx.signal,
      workspaceId: ctx.conversation.workspaceId,
      conversationId: ctx.conversation.id,
      turnId: ctx.turn.id,
      promptStartedAt: ctx.turn.promptStartedAt,
    },
    onText: (text) => ctx.text(text),
    emit: (events, status) =>
      ctx.emit(events, status === "waiting" || status === "running" ? status : undefined),
  });
  ctx.addUsage(answer.usage);
  // The step's text goes out before its tool calls run. A step without calls ends the turn, and the
  // turn's final write takes the text with it: one commit fewer at the end of every turn (0.4 ms of
  // a one-turn-at-a-time turn's latency, notes/benchmarks.md).
  if (answer.calls.length > 0) await ctx.emit([]);
  return answer;
}

/**
 * Runs the step's tool calls in order. A call the loop guard refuses is answered with its message
 * instead of running; once it says stop, that call and the rest of the step are answered as not
 * run and `loop` says why the turn ends.
 */
async function runTools(
  ctx: TurnRunnerContext,
  workspace: Workspace,
  answer: StepAnswer,
  guard: LoopGuard,
): Promise<{ results: ToolCallResult[]; loop: string | undefined }> {
  const results: ToolCallResult[] = [];
  let loop: string | undefined;
  for (const call of answer.calls) {
    const notRun = (output: string): ToolCallResult => ({
      toolCallId: call.toolCallId,
      toolName: call.toolName,
      output,
      isError: true,
    });
    let result: ToolCallResult;
    const verdict = loop === undefined ? guard.check(call.toolName, call.input) : undefined;
    if (verdict === undefined) {
      result = notRun("Not run: the turn ended because the model repeated a tool call (loop guard).");
    } else if (verdict.action === "stop") {
      loop = verdict.message;
      result = notRun(`Not run: ${verdict.message}.`);
    } else if (verdict.action === "refuse") {
      result = notRun(verdict.message);
    } else {
      const context = {
        workspace,
        ...(ctx.scope === undefined ? {} : { scope: { key: ctx.scope.key } }),
        conversationId: ctx.conversation.id,
        turnId: ctx.turn.id,
        toolCallId: call.toolCallId,
        signal: ctx.signal,
        logger: ctx.logger.child({ tool: call.toolName, toolCallId: call.toolCallId }),
      };
      result = await executeToolCall(
        call,
        ctx.tools,
        context,
        () => `The tool did not run to the end: ${messageOf(ctx.signal.reason)}.`,
      );
    }
    results.push(result);
    await ctx.emit([{ type: "tool.result", data: toolResultEventData(result) }]);
  }
  return { results, loop };
}
