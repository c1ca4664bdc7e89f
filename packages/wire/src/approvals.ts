import { z } from "zod";
import { PermissionDecision } from "./schemas.ts";

/** Body of `POST /conversations/:id/approvals/:toolCallId`. */
export const ApprovalBody = z
  .object({
    decision: z.enum(["allow", "deny"]),
    /** Adds a rule for exactly this call (tool and main argument) to the workspace's permissions. */
    remember: z.boolean().optional(),
  })
  .strict();
export type ApprovalBody = z.infer<typeof ApprovalBody>;

/** Answer to an approval: what was decided and the rule `remember` added, if any. */
export const ApprovalResult = z.object({
  toolCallId: z.string(),
  decision: z.enum(["allow", "deny"]),
  remembered: z.object({ rule: z.string(), decision: PermissionDecision }).nullable(),
});
export type ApprovalResult = z.infer<typeof ApprovalResult>;
