import { DispatchError, messageOf } from "@dispatch/kernel";

/** Codes of connection failures that retrying cannot fix; waiters fail at once instead of waiting for backoff. */
export const PERMANENT_CONNECT_CODES: ReadonlySet<string> = new Set([
  "host_key_mismatch",
  "host_key_unknown",
  "auth_failed",
  "invalid_config",
]);

/** Where a connection goes, for messages. */
export interface Endpoint {
  id: string;
  host: string;
  port: number;
  username: string;
}

/** Turns an ssh2 client error (which carries a `level`) into a DispatchError a user can act on. */
export function connectError(endpoint: Endpoint, error: unknown, connectTimeoutMs: number): DispatchError {
  if (DispatchError.isInstance(error)) return error;
  const where = `${endpoint.username}@${endpoint.host}:${endpoint.port} (host "${endpoint.id}")`;
  const level = (error as { level?: unknown } | undefined)?.level;
  const details = { hostId: endpoint.id, level: typeof level === "string" ? level : null };
  if (level === "client-timeout") {
    return new DispatchError(
      "connect_timeout",
      `connecting to ${where} timed out after ${connectTimeoutMs} ms (no SSH handshake)`,
      { cause: error, details },
    );
  }
  if (level === "client-authentication") {
    return new DispatchError(
      "auth_failed",
      `authentication to ${where} failed: the server refused every configured key`,
      { cause: error, details },
    );
  }
  return new DispatchError("unavailable", `cannot connect to ${where}: ${messageOf(error)}`, {
    cause: error,
    details,
  });
}
