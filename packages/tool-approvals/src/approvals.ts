import type { ConversationStore } from "@dispatch/conversation-store";
import { DispatchError, type Logger } from "@dispatch/kernel";
import type { GatedCall, GateVerdict, ToolGateContext } from "@dispatch/session-orchestrator";
import type { ApprovalResult, PermissionRules } from "@dispatch/wire";
import { type ApprovalEnd, PendingApprovals } from "./pending-approvals.ts";
import { compileRules, decide, type PermissionRule, ruleKeyFor } from "./permission-rules.ts";

/** Largest tool-call input copied into a `tool.approval_requested` event. */
const maxEventInputBytes = 16 * 1024;

/** What the approvals service is built from. */
export interface ApprovalsDeps {
  store: Pick<ConversationStore, "workspaces">;
  /** The host's rules (`tools.permissions`). */
  hostRules: PermissionRules;
  /** How long an `ask` waits (`tools.approvalTimeoutMs`). */
  timeoutMs: number;
  logger: Logger;
  now?: () => number;
}

/**
 * Permission rules and approvals (DESIGN §15). As a tool gate it decides each call by the most
 * specific rule of the host and the call's workspace: allow runs it, deny refuses it, ask emits
 * `tool.approval_requested` and waits (holding no provider slot) for `answer`, the deadline, or the
 * end of the turn, then emits `tool.approval_resolved`. Every refusal is a tool error the model reads.
 */
export class Approvals {
  readonly #deps: ApprovalsDeps;
  readonly #pending: PendingApprovals;
  readonly #hostRules: PermissionRule[];
  readonly stats = { asked: 0, allowed: 0, denied: 0, timedOut: 0, remembered: 0 };

  constructor(deps: ApprovalsDeps) {
    this.#deps = deps;
    this.#pending = new PendingApprovals(deps.now);
    this.#hostRules = compileRules(deps.hostRules, "host");
  }

  /** Calls waiting for an answer now. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** The tool gate's check. */
  async check(call: GatedCall, context: ToolGateContext): Promise<GateVerdict> {
    // The stored workspace, not the turn's copy: a rule remembered earlier in this turn applies now.
    const workspace = (await this.#deps.store.workspaces.get(context.workspace.id)) ?? context.workspace;
    const rules = [...this.#hostRules, ...compileRules(workspace.permissions, "workspace")];
    const { decision, rule } = decide(rules, call.toolName, call.subject);
    if (decision === "allow") return { allow: true };
    const ruleInfo = rule === undefined ? null : { key: rule.key, scope: rule.scope };
    if (decision === "deny") {
      return {
        allow: false,
        reason:
          `The call was denied by the permission rule "${rule?.key}" (${rule?.scope} rules) and did not run. ` +
          "Do not retry it; ask the user, or do the work another way.",
      };
    }
    this.stats.asked++;
    const { timeoutMs } = this.#deps;
    const { pending, ended } = this.#pending.wait(
      {
        conversationId: context.conversationId,
        toolCallId: call.toolCallId,
        workspaceId: workspace.id,
        toolName: call.toolName,
        subject: call.subject,
      },
      timeoutMs,
      context.signal,
    );
    await context.emit([
      {
        type: "tool.approval_requested",
        data: {
          toolCallId: call.toolCallId,
          toolName: call.toolName,
          input: eventInput(call.input),
          ...(call.subject === undefined ? {} : { subject: call.subject }),
          rule: ruleInfo,
          timeoutMs,
          expiresAt: new Date(pending.deadline).toISOString(),
        },
      },
    ]);
    const end = await ended;
    if (end.decision === "allow") this.stats.allowed++;
    else if (end.by === "timeout") this.stats.timedOut++;
    else this.stats.denied++;
    // Best effort: after a cancel the turn may already be closing; its final event says the rest.
    await context
      .emit([
        {
          type: "tool.approval_resolved",
          data: {
            toolCallId: call.toolCallId,
            decision: end.decision,
            by: end.by,
            ...(end.by === "turn-ended" ? { reason: end.reason } : {}),
          },
        },
      ])
      .catch(() => {});
    return end.decision === "allow" ? { allow: true } : { allow: false, reason: refusalText(end, timeoutMs) };
  }

  /**
   * Answers a pending call; with `remember`, first adds the rule for exactly this call (its tool and
   * main argument) to the workspace's permissions, so the same call is not asked again. `not_found`
   * when no such call waits (answered, timed out, or its turn ended, a restart included).
   */
  async answer(
    conversationId: string,
    toolCallId: string,
    decision: "allow" | "deny",
    remember: boolean,
  ): Promise<ApprovalResult> {
    const pending = this.#pending.get(conversationId, toolCallId);
    if (pending === undefined) throw notPending(conversationId, toolCallId);
    let remembered: ApprovalResult["remembered"] = null;
    if (remember) {
      const rule = ruleKeyFor(pending.toolName, pending.subject);
      await this.#deps.store.workspaces.setPermission(pending.workspaceId, rule, decision);
      remembered = { rule, decision };
      this.stats.remembered++;
      this.#deps.logger.info("permission rule remembered", {
        workspaceId: pending.workspaceId,
        rule,
        decision,
      });
    }
    // It may have timed out while the rule was written; the rule stays, the answer comes too late.
    if (!this.#pending.answer(conversationId, toolCallId, decision))
      throw notPending(conversationId, toolCallId);
    return { toolCallId, decision, remembered };
  }

  /** Stops the deadline timer and denies new asks; waiting calls end with their turns. */
  close(): void {
    this.#pending.close();
  }
}

function notPending(conversationId: string, toolCallId: string): DispatchError {
  return new DispatchError(
    "not_found",
    `no approval is pending for tool call "${toolCallId}" of conversation ${conversationId} ` +
      "(it was answered, it timed out, or its turn ended)",
    { details: { conversationId, toolCallId } },
  );
}

function refusalText(end: Exclude<ApprovalEnd, { decision: "allow" }>, timeoutMs: number): string {
  switch (end.by) {
    case "person":
      return "The user denied this call; it did not run. Do not retry it without asking.";
    case "timeout":
      return `No one answered the approval request within ${timeoutMs} ms, so the call was denied; it did not run.`;
    case "turn-ended":
      return `The call was not approved before the turn ended (${end.reason}); it did not run.`;
  }
}

/** The call's input for the event log, replaced by a preview when large. */
function eventInput(value: unknown): unknown {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    return { unserialisable: true };
  }
  if (json === undefined || Buffer.byteLength(json, "utf8") <= maxEventInputBytes) return value;
  return {
    inputPreview: Buffer.from(json).subarray(0, maxEventInputBytes).toString("utf8"),
    truncated: true,
  };
}
