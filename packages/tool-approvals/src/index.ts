export { approvalOperations, approvalRoutes, approvalsMountPath } from "./approval-routes.ts";
export { Approvals, type ApprovalsDeps } from "./approvals.ts";
export { toolApprovalsExtension } from "./extension.ts";
export { type ApprovalEnd, type PendingApproval, PendingApprovals } from "./pending-approvals.ts";
export {
  compileGlob,
  compileRules,
  decide,
  escapeGlob,
  type PermissionRule,
  type RuleScope,
  ruleKeyFor,
  type Verdict,
} from "./permission-rules.ts";
