import type { z } from "zod";
import { ActivityEntry, ActivityList } from "./activity.ts";
import { ApprovalBody, ApprovalResult } from "./approvals.ts";
import { CreateSessionBody, SessionState } from "./auth.ts";
import { conversationEventSchemas, eventSchemaName, KnownConversationEvent } from "./events.ts";
import {
  CancelResult,
  Conversation,
  ConversationList,
  CreateConversationBody,
  CreateWorkspaceBody,
  ErrorBody,
  Health,
  HttpErrorCode,
  Message,
  MessageList,
  MessagePart,
  PermissionRules,
  PostMessageBody,
  PostMessageResult,
  ProviderInfo,
  ProviderList,
  QueueEntry,
  TurnStatus,
  UpdateWorkspaceBody,
  Workspace,
  WorkspaceList,
} from "./schemas.ts";
import {
  AttemptStatus,
  CreateTaskBody,
  Task,
  TaskAttempt,
  TaskBreaker,
  TaskList,
  TaskResumeResult,
  TaskStatus,
  TaskValidate,
} from "./tasks.ts";
import { MemoryHistory, MemoryPoint } from "./telemetry.ts";

/**
 * The names the OpenAPI document gives these schemas in `components.schemas` (and so the names a
 * generated client types them by). A schema used by an operation and not listed here is named after
 * its operation, or by its own `.meta({ id })`.
 */
export const apiSchemaNames: ReadonlyMap<z.ZodType, string> = new Map<z.ZodType, string>([
  [Workspace, "Workspace"],
  [WorkspaceList, "WorkspaceList"],
  [CreateWorkspaceBody, "CreateWorkspaceBody"],
  [UpdateWorkspaceBody, "UpdateWorkspaceBody"],
  [PermissionRules, "PermissionRules"],
  [TurnStatus, "TurnStatus"],
  [Conversation, "Conversation"],
  [ConversationList, "ConversationList"],
  [CreateConversationBody, "CreateConversationBody"],
  [MessagePart, "MessagePart"],
  [Message, "Message"],
  [MessageList, "MessageList"],
  [PostMessageBody, "PostMessageBody"],
  [PostMessageResult, "PostMessageResult"],
  [CancelResult, "CancelResult"],
  [KnownConversationEvent, "ConversationEvent"],
  ...Object.entries(conversationEventSchemas).map(
    ([type, schema]) => [schema, eventSchemaName(type)] as [z.ZodType, string],
  ),
  [QueueEntry, "QueueEntry"],
  [ProviderInfo, "ProviderInfo"],
  [ProviderList, "ProviderList"],
  [Health, "Health"],
  [ErrorBody, "Error"],
  [HttpErrorCode, "ErrorCode"],
  [TaskStatus, "TaskStatus"],
  [AttemptStatus, "AttemptStatus"],
  [TaskValidate, "TaskValidate"],
  [TaskAttempt, "TaskAttempt"],
  [Task, "Task"],
  [TaskBreaker, "TaskBreaker"],
  [TaskList, "TaskList"],
  [CreateTaskBody, "CreateTaskBody"],
  [TaskResumeResult, "TaskResumeResult"],
  [ApprovalBody, "ApprovalBody"],
  [ApprovalResult, "ApprovalResult"],
  [SessionState, "SessionState"],
  [CreateSessionBody, "CreateSessionBody"],
  [MemoryPoint, "MemoryPoint"],
  [MemoryHistory, "MemoryHistory"],
  [ActivityEntry, "ActivityEntry"],
  [ActivityList, "ActivityList"],
]);
