import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import type { BrowserSessions } from "../browser-sessions.ts";
import { errorBody } from "../error-response.ts";
import { fromOtherOrigin, readSession } from "../session-cookie.ts";

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * A constant-time check of a candidate against the configured token (both hashed first, so the
 * comparison takes the same time whatever the lengths); always false when no token is configured.
 */
export function tokenMatcher(token: string | null): (candidate: string) => boolean {
  const expected = token === null ? null : digest(token);
  return (candidate) => expected !== null && timingSafeEqual(digest(candidate), expected);
}

/** Options for `bearerToken`. */
export interface BearerTokenOptions {
  token: string | null;
  /** Paths that never need the token. */
  publicPaths?: readonly string[];
  /** Also never needing the token: contributed routes marked `public` (the dashboard's static files). */
  isPublic?: (path: string) => boolean;
  /** Browser sessions (`POST /auth/session`) whose cookie stands in for the token. */
  sessions?: BrowserSessions;
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
 * Requires `Authorization: Bearer <token>`, or a valid session cookie, when a token is configured
 * (compared in constant time, see `tokenMatcher`). A cookie is refused (403) on a request the
 * browser marks as coming from a page of another origin. Public paths pass without either, with
 * `authenticated` telling the route whether one was given.
 */
export function bearerToken(options: BearerTokenOptions): MiddlewareHandler {
  const matches = tokenMatcher(options.token);
  const open = new Set(options.publicPaths ?? ["/health"]);
  const { isPublic, sessions } = options;
  return async function bearerToken(c, next) {
    if (options.token === null) return next();
    const header = c.req.header("authorization");
    const match = header === undefined ? null : /^Bearer\s+(.+)$/i.exec(header);
    const byToken = match?.[1] !== undefined && matches(match[1]);
    // An explicit Authorization header wins: a wrong one is not rescued by a cookie.
    const session =
      !byToken && header === undefined && sessions !== undefined ? readSession(c, sessions) : undefined;
    if (open.has(c.req.path) || isPublic?.(c.req.path)) {
      c.set("authenticated", byToken || (session !== undefined && !fromOtherOrigin(c)));
      return next();
    }
    if (byToken) return next();
    if (session !== undefined) {
      if (fromOtherOrigin(c)) {
        return c.json(
          errorBody("forbidden", "a session cookie is only accepted from this server's own pages"),
          403,
        );
      }
      return next();
    }
    return c.json(errorBody("unauthorized", "missing or wrong bearer token or session cookie"), 401, {
      "WWW-Authenticate": 'Bearer realm="dispatch"',
    });
  };
}
