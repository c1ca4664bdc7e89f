export { ActivityEntry, ActivityList } from "./activity.ts";
export {
  AgentHealth,
  AgentInfo,
  AgentInputBody,
  AgentInputResult,
  AgentList,
  AgentState,
} from "./agents.ts";
export { apiSchemaNames } from "./api-schemas.ts";
export { ApprovalBody, ApprovalResult } from "./approvals.ts";
export { CreateSessionBody, SessionState } from "./auth.ts";
export {
  type ConversationEventType,
  conversationEventSchemas,
  eventSchemaName,
  KnownConversationEvent,
  knownEventTypes,
} from "./events.ts";
export {
  GitCommit,
  GitRef,
  PushStatus,
  ValidationResult,
  Worktree,
  WorktreeHolder,
  WorktreeList,
} from "./git.ts";
export { IsoTime } from "./iso-time.ts";
export { limits, permissionRulePattern, slugPattern } from "./limits.ts";
export {
  CancelResult,
  Conversation,
  ConversationEvent,
  ConversationList,
  CreateConversationBody,
  CreateWorkspaceBody,
  ErrorBody,
  type ErrorCode,
  errorStatus,
  finalTurnStatuses,
  Health,
  HealthSummary,
  HttpErrorCode,
  ListQuery,
  Message,
  MessageList,
  MessagePart,
  PermissionDecision,
  PermissionRuleKey,
  PermissionRules,
  PostMessageBody,
  PostMessageResult,
  ProviderInfo,
  ProviderList,
  QueueEntry,
  Slug,
  TurnStatus,
  UpdateWorkspaceBody,
  Workspace,
  WorkspaceList,
} from "./schemas.ts";
export {
  AttemptStatus,
  CreateTaskBody,
  Task,
  TaskAttempt,
  TaskBreaker,
  TaskList,
  TaskResumeResult,
  TaskStatus,
  TaskValidate,
  taskLimits,
} from "./tasks.ts";
export { MemoryHistory, MemoryPoint } from "./telemetry.ts";
export { UsageGroup, UsageGroupBy, UsageQuery, UsageReport, UsageTotals } from "./usage.ts";
