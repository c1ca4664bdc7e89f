import { DispatchError } from "@dispatch/kernel";
import { type ApiOperation, jsonBody } from "@dispatch/transport-http";
import { ApprovalBody, ApprovalResult } from "@dispatch/wire";
import { Hono } from "hono";
import type { Approvals } from "./approvals.ts";

/** The mount path of the approvals routes (cli-agents has `/conversations` itself). */
export const approvalsMountPath = "/conversations/:id/approvals";

/** `POST /conversations/:id/approvals/:toolCallId`, mounted at `approvalsMountPath`. */
export function approvalRoutes(approvals: Approvals): Hono {
  return new Hono().post("/:toolCallId", jsonBody(ApprovalBody), async (c) => {
    const { decision, remember } = c.req.valid("json");
    // `:id` comes from the mount path, which this sub-app's types cannot see.
    const conversationId = c.req.param("id");
    if (conversationId === undefined)
      throw new DispatchError("internal", `the approvals routes must be mounted at ${approvalsMountPath}`);
    const result = await approvals.answer(
      conversationId,
      c.req.param("toolCallId"),
      decision,
      remember === true,
    );
    return c.json(result, 200);
  });
}

/** The OpenAPI entry of the approvals route (relative to `approvalsMountPath`). */
export const approvalOperations: ApiOperation[] = [
  {
    method: "post",
    path: "/{toolCallId}",
    operationId: "answerToolApproval",
    summary: "Answer a tool call waiting for approval",
    description:
      "Answers a `tool.approval_requested` event: `allow` runs the call, `deny` refuses it (the model sees a tool error). " +
      "`remember` first adds the rule for exactly this call (its tool and main argument) to the workspace's `permissions`. " +
      "404 when no such call waits: it was answered, timed out, or its turn ended.",
    body: ApprovalBody,
    ok: { status: 200, schema: ApprovalResult },
    errors: [400, 401, 404, 415],
  },
];
