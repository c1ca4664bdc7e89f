import type { Conversation, Message, TurnStatus, Workspace } from "@dispatch/wire";
import type { FileLock, QueuedMessage, Turn } from "../types.ts";
import { parsePermissions } from "../workspace-fields.ts";

// Bun.sql hands `bigint` columns back as strings (they may not fit a double); every time here is
// epoch ms, which does, so each is read with Number().

/** A row as Bun.sql returns it: column name → value. */
export type Row = Record<string, unknown>;

const ms = (value: unknown): number => Number(value);
const iso = (value: unknown): string => new Date(ms(value)).toISOString();
const textOrNull = (value: unknown): string | null => (value === null ? null : String(value));

/** A `workspaces` row as the contract's Workspace. */
export function workspaceOf(row: Row): Workspace {
  return {
    id: String(row.id),
    name: String(row.name),
    root: String(row.root),
    hostId: textOrNull(row.host_id),
    starred: row.starred === true,
    network: row.network === null ? null : row.network === true,
    permissions: parsePermissions(String(row.permissions)),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** A `conversations` row (with the derived `latest_status` and `active_turn_id`) as a Conversation. */
export function conversationOf(row: Row): Conversation {
  return {
    id: String(row.id),
    workspaceId: String(row.workspace_id),
    title: textOrNull(row.title),
    provider: String(row.provider),
    model: String(row.model),
    runner: String(row.runner),
    status: (row.latest_status as TurnStatus | null) ?? "idle",
    activeTurnId: textOrNull(row.active_turn_id ?? null),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** A `turns` row as a Turn. */
export function turnOf(row: Row): Turn {
  return {
    id: String(row.id),
    conversationId: String(row.conversation_id),
    status: row.status as TurnStatus,
    promptStartedAt: ms(row.prompt_started_at),
    error: textOrNull(row.error),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** A `messages` row as a Message. */
export function messageOf(row: Row): Message {
  return {
    id: String(row.id),
    conversationId: String(row.conversation_id),
    turnId: textOrNull(row.turn_id),
    role: row.role as Message["role"],
    parts: JSON.parse(String(row.parts)) as Message["parts"],
    createdAt: iso(row.created_at),
  };
}

/** A `locks` row as a FileLock. */
export function lockOf(row: Row): FileLock {
  return {
    workspaceId: String(row.workspace_id),
    path: String(row.path),
    conversationId: String(row.conversation_id),
    turnId: String(row.turn_id),
    acquiredAt: ms(row.acquired_at),
    expiresAt: ms(row.expires_at),
  };
}

/** A `queued_messages` row as a QueuedMessage. */
export function queuedOf(row: Row): QueuedMessage {
  return {
    id: String(row.id),
    conversationId: String(row.conversation_id),
    text: String(row.text),
    createdAt: iso(row.created_at),
  };
}
