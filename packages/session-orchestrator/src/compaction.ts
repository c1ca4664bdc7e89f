import { messageOf } from "@dispatch/kernel";
import type { ModelMessage, ModelRequest } from "@dispatch/providers";
import { streamModelStep } from "./model-step.ts";
import type { PromptCut, PromptView } from "./prompt-view.ts";
import type { TokenMeter } from "./token-meter.ts";
import type { RunnerOutcome, TurnRunnerContext } from "./turn-runner.ts";

/** `compaction` config and the model's window. */
export interface CompactionSettings {
  at: number;
  minShrink: number;
  contextWindow: number;
}

/** The share of the threshold the kept (recent) messages may fill, and the share the summary may. */
const keepShare = 0.4;
const summaryShare = 0.2;
/** Characters of one tool output or tool input copied into the transcript the summariser reads. */
const transcriptPartChars = 2000;
/** Tokens left for the summariser's own instructions when the transcript is cut to fit its window. */
const instructionTokens = 500;

/** The system prompt of the summarising call. */
export const summariserSystem = [
  "You condense a conversation between a user and a coding agent so that the agent can carry on from the summary alone.",
  "Keep: the user's goals and instructions, decisions made, files, commands and results that matter, errors met, and what is left to do.",
  "Be concise and factual; do not invent anything and do not address the user.",
].join("\n");

/** How the summarising call's user message begins (a scripted provider can match it). */
export const summariserInstruction = "Summarise the conversation below";

/** What a compaction did. */
export type CompactionResult =
  | { status: "not_needed" }
  | { status: "compacted" }
  | { status: "failed"; outcome: Extract<RunnerOutcome, { status: "failed" }> };

/** Where a compaction cuts (exported for its tests). */
export interface CutPlan {
  cut: Omit<PromptCut, "summary">;
  /** The visible messages the summary replaces, oldest first. */
  older: number[];
}

/**
 * Compacts the prompt when it would pass `at` of the context window (DESIGN §16): one model call
 * summarises the older messages, through the turn's providers (so slots, retries and budgets apply),
 * and the summary replaces them in what is sent. A compaction that shrinks the prompt by less than
 * `minShrink`, or leaves it larger than the window, fails the turn with `context_overflow`: it is
 * never tried twice for one call.
 */
export async function compactIfNeeded(
  ctx: TurnRunnerContext,
  view: PromptView,
  meter: TokenMeter,
  settings: CompactionSettings,
): Promise<CompactionResult> {
  const threshold = settings.at * settings.contextWindow;
  const beforeTokens = meter.tokens(view.request());
  if (beforeTokens <= threshold) return { status: "not_needed" };
  const estimated = meter.estimated;
  const overflow = (error: string, data: Record<string, unknown> = {}): CompactionResult => ({
    status: "failed",
    outcome: {
      status: "failed",
      error,
      code: "context_overflow",
      data: { beforeTokens, estimated, contextWindow: settings.contextWindow, ...data },
    },
  });
  const plan = planCut(view, meter, keepShare * threshold);
  if (plan === undefined) {
    return overflow(
      `the prompt is about ${beforeTokens} tokens, past ${settings.at} of the ${settings.contextWindow}-token context window, and nothing older than this turn's message can be summarised`,
    );
  }
  const summaryTokens = Math.max(64, Math.floor(summaryShare * threshold));
  const request = summariserRequest(view, plan, meter, summaryTokens, settings.contextWindow);
  const texts: string[] = [];
  const answer = await streamModelStep({
    step: 0,
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
    onText: (text) => texts.push(text),
    emit: (events, status) =>
      ctx.emit(events, status === "waiting" || status === "running" ? status : undefined),
    events: {
      started: (attempt) => ({
        type: "context.compacting",
        data: { beforeTokens, estimated, messages: plan.older.length, attempt },
      }),
      waitingFor: { purpose: "compaction" },
      toolCalls: false,
    },
  });
  ctx.addUsage(answer.usage);
  if (answer.usage.inputTokens > 0) meter.calibrate(request, answer.usage.inputTokens);
  if (ctx.signal.aborted) {
    return { status: "failed", outcome: { status: "failed", error: messageOf(ctx.signal.reason) } };
  }
  if (answer.error !== undefined) {
    return {
      status: "failed",
      outcome: {
        status: "failed",
        error: `the summarising call failed: ${answer.error.message}`,
        code: answer.error.code,
      },
    };
  }
  const summary = texts.join("").trim();
  if (summary === "")
    return overflow("the summarising call returned no summary", { messages: plan.older.length });
  const cut: PromptCut = { ...plan.cut, summary };
  const afterTokens = meter.tokens(view.request(cut));
  const shrink = 1 - afterTokens / beforeTokens;
  const sizes = { afterTokens, messages: plan.older.length };
  if (shrink < settings.minShrink) {
    return overflow(
      `compaction shrank the prompt by ${percent(shrink)} (about ${beforeTokens} to ${afterTokens} tokens), less than compaction.minShrink (${percent(settings.minShrink)}); the turn stops rather than compact again`,
      sizes,
    );
  }
  if (afterTokens > settings.contextWindow) {
    return overflow(
      `after compaction the prompt is still about ${afterTokens} tokens, more than the ${settings.contextWindow}-token context window`,
      sizes,
    );
  }
  view.apply(cut);
  await ctx.emit([
    {
      type: "context.compacted",
      data: { beforeTokens, afterTokens, estimated, messages: plan.older.length },
    },
  ]);
  return { status: "compacted" };
}

/**
 * Where to cut: the oldest cut after which the kept messages fit `keepTokens`, else the newest
 * possible. A cut starts at a user message, or inside this turn at an assistant message (the
 * turn's user message is then kept before it), so a tool result never loses its call.
 */
export function planCut(view: PromptView, meter: TokenMeter, keepTokens: number): CutPlan | undefined {
  const messages = view.messages;
  const visible = view.visibleIndices();
  const lastUser = messages.findLastIndex((m) => m.role === "user");
  const lengths = new Map(visible.map((i) => [i, JSON.stringify(messages[i]).length + 1]));
  const base = view.request();
  const fixedChars =
    (base.system?.length ?? 0) + (base.tools.length === 0 ? 0 : JSON.stringify(base.tools).length) + 2;
  let last: CutPlan | undefined;
  for (const [k, p] of visible.entries()) {
    const role = messages[p]?.role;
    if (k === 0 || !(role === "user" || (role === "assistant" && p > lastUser))) continue;
    const shown = p > lastUser ? [lastUser] : [];
    const older = visible.filter((i) => i < p && !shown.includes(i));
    if (older.length === 0) continue;
    const plan = { cut: { through: p, shown }, older };
    let keptChars = fixedChars;
    for (const i of visible) if (i >= p || shown.includes(i)) keptChars += lengths.get(i) ?? 0;
    if (meter.charsToTokens(keptChars) <= keepTokens) return plan;
    last = plan;
  }
  return last;
}

/** The summarising call: the previous summary and the older messages as a transcript, cut to fit the window. */
function summariserRequest(
  view: PromptView,
  plan: CutPlan,
  meter: TokenMeter,
  summaryTokens: number,
  contextWindow: number,
): ModelRequest {
  const base = view.request();
  const previous = view.cut?.summary;
  const head = previous === undefined ? "" : `[summary of what came before]\n${previous}\n\n`;
  const lines: string[] = [];
  for (const i of plan.older) {
    const message = view.messages[i];
    if (message !== undefined) lines.push(renderMessage(message));
  }
  let transcript = lines.join("\n\n");
  // what does not fit goes from the oldest messages; the previous summary stands for older still
  const room = meter.tokensToChars(
    Math.max(0, contextWindow - summaryTokens - instructionTokens - meter.textTokens(summariserSystem)),
  );
  if (head.length + transcript.length > room) {
    const left = Math.min(transcript.length, head.length + transcript.length - room);
    transcript = `[the oldest ${left} characters of these messages were left out to fit the context window]\n${transcript.slice(left)}`;
  }
  transcript = head + transcript;
  return {
    model: base.model,
    system: summariserSystem,
    messages: [
      {
        role: "user",
        content: `${summariserInstruction} in at most about ${summaryTokens} tokens.\n\n${transcript}`,
      },
    ],
    tools: [],
    maxOutputTokens: summaryTokens,
  };
}

function renderMessage(message: ModelMessage): string {
  switch (message.role) {
    case "user":
      return `[user]\n${message.content}`;
    case "assistant":
      return message.parts
        .map((part) =>
          part.type === "text"
            ? `[assistant]\n${part.text}`
            : `[assistant called ${part.toolName}] ${cut(JSON.stringify(part.input) ?? "")}`,
        )
        .join("\n\n");
    case "tool":
      return message.results
        .map((r) => `[${r.toolName} ${r.isError ? "failed" : "answered"}]\n${cut(r.output)}`)
        .join("\n\n");
  }
}

function cut(text: string): string {
  return text.length <= transcriptPartChars
    ? text
    : `${text.slice(0, transcriptPartChars)} [… ${text.length - transcriptPartChars} more characters]`;
}

function percent(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}
