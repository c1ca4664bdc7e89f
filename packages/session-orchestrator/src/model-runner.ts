import { messageOf } from "@dispatch/kernel";
import type { ModelRequest } from "@dispatch/providers";
import type { Workspace } from "@dispatch/wire";
import type { OrchestratorConfig } from "./config.ts";
import { toModelMessages } from "./model-messages.ts";
import { type StepAnswer, streamModelStep } from "./model-step.ts";
import { buildSystemPrompt, readAgentsFile } from "./system-prompt.ts";
import { executeToolCall, type ToolCallResult, toolResultEventData } from "./tool-execution.ts";
import type { RunnerOutcome, TurnRunner, TurnRunnerContext } from "./turn-runner.ts";

/** The id of the built-in runner. */
export const modelRunnerId = "model";

/**
 * The built-in runner (DESIGN §5): build the request, stream one model call through the providers
 * service (which holds a slot only while it streams), run the requested tools with no slot held,
 * repeat until the model answers without tools or `maxSteps` is reached.
 */
export function createModelRunner(config: Pick<OrchestratorConfig, "maxSteps" | "systemPrompt">): TurnRunner {
  return {
    id: modelRunnerId,
    description: "the built-in agent loop: model calls and tools",
    validate: (argument) =>
      argument === undefined ? undefined : `the model runner takes no argument (got "${argument}")`,
    run: (context) => runModelLoop(context, config),
  };
}

async function runModelLoop(
  ctx: TurnRunnerContext,
  config: Pick<OrchestratorConfig, "maxSteps" | "systemPrompt">,
): Promise<RunnerOutcome> {
  const { conversation, workspace, tools } = ctx;
  const [history, agentsFile] = await Promise.all([ctx.history(), readAgentsFile(workspace)]);
  const definitions = tools.list();
  const request: ModelRequest = {
    model: conversation.model,
    system: buildSystemPrompt({ workspace, tools: definitions, agentsFile, extra: config.systemPrompt }),
    messages: toModelMessages(history),
    tools: definitions.map((tool) => tools.specOf(tool)),
  };
  const maxSteps = ctx.limits.maxSteps ?? config.maxSteps;
  let steps = 0;
  const ended = (outcome: RunnerOutcome): RunnerOutcome => ({ ...outcome, data: { ...outcome.data, steps } });
  for (let step = 1; step <= maxSteps; step += 1) {
    if (ctx.signal.aborted) return ended({ status: "failed", error: messageOf(ctx.signal.reason) });
    steps = step;
    const answer = await modelStep(ctx, step, request);
    if (answer.parts.length > 0) {
      await ctx.appendMessage("assistant", answer.parts);
      request.messages.push({ role: "assistant", parts: answer.parts });
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
    const results = await runTools(ctx, workspace, answer);
    await ctx.appendMessage(
      "tool",
      results.map((r) => ({ type: "tool-result", ...r })),
    );
    request.messages.push({ role: "tool", results });
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
    request: { ...request, messages: [...request.messages] },
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
  // the step's text goes out before its tool calls run
  await ctx.emit([]);
  return answer;
}

async function runTools(
  ctx: TurnRunnerContext,
  workspace: Workspace,
  answer: StepAnswer,
): Promise<ToolCallResult[]> {
  const results: ToolCallResult[] = [];
  for (const call of answer.calls) {
    const context = {
      workspace,
      conversationId: ctx.conversation.id,
      turnId: ctx.turn.id,
      toolCallId: call.toolCallId,
      signal: ctx.signal,
      logger: ctx.logger.child({ tool: call.toolName, toolCallId: call.toolCallId }),
    };
    const result = await executeToolCall(
      call,
      ctx.tools,
      context,
      () => `The tool did not run to the end: ${messageOf(ctx.signal.reason)}.`,
    );
    results.push(result);
    await ctx.emit([{ type: "tool.result", data: toolResultEventData(result) }]);
  }
  return results;
}
