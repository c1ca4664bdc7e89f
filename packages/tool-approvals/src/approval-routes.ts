import { type ApiOperation, jsonBody } from "@dispatch/transport-http";
import { ApprovalBody, ApprovalResult } from "@dispatch/wire";
import { Hono } from "hono";
import type { Approvals } from "./approvals.ts";

/** `POST /conversations/:id/approvals/:toolCallId`, mounted at `/conversations`. */
export function approvalRoutes(approvals: Approvals): Hono {
  return new Hono().post("/:id/approvals/:toolCallId", jsonBody(ApprovalBody), async (c) => {
    const { decision, remember } = c.req.valid("json");
    const result = await approvals.answer(
      c.req.param("id"),
      c.req.param("toolCallId"),
      decision,
      remember === true,
    );
    return c.json(result, 200);
  });
}

/** The OpenAPI entry of the approvals route (relative to `/conversations`). */
export const approvalOperations: ApiOperation[] = [
  {
    method: "post",
    path: "/{id}/approvals/{toolCallId}",
    summary:
      "Answer a tool call waiting for approval (tool.approval_requested): allow or deny; remember adds the rule for exactly this call to the workspace",
    body: ApprovalBody,
    ok: { status: 200, schema: ApprovalResult },
    errors: [400, 401, 404, 415],
  },
];
