export { ActivityEntry, ActivityList } from "./activity.ts";
export { CreateSessionBody, SessionState } from "./auth.ts";
export {
  GitCommit,
  GitRef,
  PushStatus,
  ValidationResult,
  Worktree,
  WorktreeHolder,
  WorktreeList,
} from "./git.ts";
export { limits, slugPattern } from "./limits.ts";
export {
  CancelResult,
  Conversation,
  ConversationEvent,
  CreateConversationBody,
  CreateWorkspaceBody,
  ErrorBody,
  type ErrorCode,
  errorStatus,
  finalTurnStatuses,
  Health,
  knownEventTypes,
  Message,
  MessagePart,
  PostMessageBody,
  PostMessageResult,
  ProviderInfo,
  QueueEntry,
  Slug,
  TurnStatus,
  UpdateWorkspaceBody,
  Workspace,
} from "./schemas.ts";
export {
  AttemptStatus,
  CreateTaskBody,
  Task,
  TaskAttempt,
  TaskList,
  TaskStatus,
  TaskValidate,
  taskLimits,
} from "./tasks.ts";
export { MemoryHistory, MemoryPoint } from "./telemetry.ts";
