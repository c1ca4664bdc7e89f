import type { components, operations } from "./generated/openapi.js";

type Schemas = components["schemas"];

/** The JSON body of an operation's success answer. */
export type ResultOf<Op extends keyof operations> = operations[Op]["responses"] extends infer R
  ? {
      [S in keyof R]: S extends 200 | 201 | 202
        ? R[S] extends { content: { "application/json": infer J } }
          ? J
          : never
        : never;
    }[keyof R]
  : never;

/** The JSON request body of an operation. */
export type BodyOf<Op extends keyof operations> = operations[Op]["requestBody"] extends
  | { content: { "application/json": infer B } }
  | undefined
  ? B
  : never;

/** The query parameters of an operation. */
export type QueryOf<Op extends keyof operations> = NonNullable<operations[Op]["parameters"]["query"]>;

export type Workspace = Schemas["Workspace"];
export type WorkspaceList = Schemas["WorkspaceList"];
export type CreateWorkspaceBody = Schemas["CreateWorkspaceBody"];
export type UpdateWorkspaceBody = Schemas["UpdateWorkspaceBody"];
export type Conversation = Schemas["Conversation"];
export type ConversationList = Schemas["ConversationList"];
export type CreateConversationBody = Schemas["CreateConversationBody"];
export type TurnStatus = Schemas["TurnStatus"];
export type Message = Schemas["Message"];
export type MessagePart = Schemas["MessagePart"];
export type MessageList = Schemas["MessageList"];
export type PostMessageBody = Schemas["PostMessageBody"];
export type PostMessageResult = Schemas["PostMessageResult"];
export type CancelResult = Schemas["CancelResult"];
/** A conversation event, discriminated by `type` (narrow with `event.type === "text.delta"`). */
export type ConversationEvent = Schemas["ConversationEvent"];
/** Every built-in event type. */
export type ConversationEventType = ConversationEvent["type"];
/** The event of one type: `EventOf<"tool.call">`. */
export type EventOf<T extends ConversationEventType> = Extract<ConversationEvent, { type: T }>;
export type ProviderInfo = Schemas["ProviderInfo"];
export type ProviderList = Schemas["ProviderList"];
export type Health = Schemas["Health"];
export type Task = Schemas["Task"];
export type TaskList = Schemas["TaskList"];
export type TaskStatus = Schemas["TaskStatus"];
export type CreateTaskBody = Schemas["CreateTaskBody"];
export type TaskListQuery = QueryOf<"listTasks">;
export type TaskResumeResult = Schemas["TaskResumeResult"];
export type ApprovalBody = Schemas["ApprovalBody"];
export type ApprovalResult = Schemas["ApprovalResult"];
/** The error body every failed call answers with. */
export type ErrorBody = Schemas["Error"];
/** The error codes of the API's table; an extension may answer with its own. */
export type ErrorCode = Schemas["ErrorCode"];
