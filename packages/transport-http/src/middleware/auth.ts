import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { errorBody } from "../error-response.ts";

const digest = (value: string) => createHash("sha256").update(value).digest();

/** Options for `bearerToken`. */
export interface BearerTokenOptions {
  token: string | null;
  /** Paths that never need the token. */
  publicPaths?: readonly string[];
}

/**
 * Requires `Authorization: Bearer <token>` when a token is configured. Both sides are hashed first so
 * the comparison is constant-time whatever the lengths.
 */
export function bearerToken(options: BearerTokenOptions): MiddlewareHandler {
  const expected = options.token === null ? null : digest(options.token);
  const open = new Set(options.publicPaths ?? ["/health"]);
  return async function bearerToken(c, next) {
    if (expected === null || open.has(c.req.path)) return next();
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match?.[1] || !timingSafeEqual(digest(match[1]), expected)) {
      return c.json(errorBody("unauthorized", "missing or wrong bearer token"), 401, {
        "WWW-Authenticate": 'Bearer realm="dispatch"',
      });
    }
    return next();
  };
}
