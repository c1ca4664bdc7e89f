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

declare module "hono" {
  interface ContextVariableMap {
    /**
     * Whether the request carried the configured token; set on public paths (which answer either
     * way), so that `/health` can keep its details for callers with the token. Unset when no token
     * is configured: then every caller may see everything.
     */
    authenticated: boolean;
  }
}

/**
 * Requires `Authorization: Bearer <token>` when a token is configured. Both sides are hashed first so
 * the comparison is constant-time whatever the lengths. Public paths pass without it, with
 * `authenticated` telling the route whether it was given.
 */
export function bearerToken(options: BearerTokenOptions): MiddlewareHandler {
  const expected = options.token === null ? null : digest(options.token);
  const open = new Set(options.publicPaths ?? ["/health"]);
  const carriesToken = (header: string | undefined): boolean => {
    const match = /^Bearer\s+(.+)$/i.exec(header ?? "");
    return expected !== null && match?.[1] !== undefined && timingSafeEqual(digest(match[1]), expected);
  };
  return async function bearerToken(c, next) {
    if (expected === null) return next();
    const authenticated = carriesToken(c.req.header("authorization"));
    if (open.has(c.req.path)) {
      c.set("authenticated", authenticated);
      return next();
    }
    if (!authenticated) {
      return c.json(errorBody("unauthorized", "missing or wrong bearer token"), 401, {
        "WWW-Authenticate": 'Bearer realm="dispatch"',
      });
    }
    return next();
  };
}
