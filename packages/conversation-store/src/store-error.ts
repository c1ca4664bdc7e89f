import { DispatchError } from "@dispatch/kernel";

/** The codes a store failure can carry (see `ConversationStore`). */
export type StoreErrorCode =
  | "not_found"
  | "conflict"
  | "invalid_request"
  | "invalid_transition"
  | "conversation_busy"
  | "store_closed"
  | "store_schema_unknown"
  /** An extension's contributed migrations failed, or could not be read. */
  | "extension_migration_failed"
  /** An extension's migrations touch a schema object that is not its own (see `storeSchemasPoint`). */
  | "extension_schema_refused";

/** A DispatchError raised by the conversation store; `code` says what went wrong. */
export class StoreError extends DispatchError {
  declare readonly code: StoreErrorCode;

  constructor(
    code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(code, message, options);
    this.name = "StoreError";
  }
}

/** `not_found` for a row of `kind` (workspace, conversation, turn) with this id. */
export function notFound(kind: string, id: string): StoreError {
  return new StoreError("not_found", `${kind} "${id}" does not exist`, { details: { kind, id } });
}

/** `invalid_request` naming the offending field, for validation and limit violations. */
export function invalidField(field: string, message: string, details?: Record<string, unknown>): StoreError {
  return new StoreError("invalid_request", `\`${field}\` ${message}`, { details: { field, ...details } });
}

/** The SQLite extended result code of an error (drizzle wraps driver errors, so follow `cause`). */
export function sqliteCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("SQLITE_")) return code;
    current = current.cause;
  }
  return undefined;
}
