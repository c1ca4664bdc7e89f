import { CreateSessionBody, type SessionState } from "@dispatch/wire";
import { Hono } from "hono";
import type { BrowserSessions } from "../browser-sessions.ts";
import { errorBody } from "../error-response.ts";
import { jsonBody } from "../middleware/json-body.ts";
import { clearSessionCookie, readSession, setSessionCookie } from "../session-cookie.ts";

/** What the session routes need. */
export interface SessionRoutesDeps {
  /** Null when no token is configured: then nobody needs to log in. */
  token: string | null;
  sessions: BrowserSessions;
  matches(candidate: string): boolean;
  clock?: () => number;
}

/**
 * Browser login (DESIGN §18): `POST /auth/session {token}` exchanges the token for an HttpOnly,
 * SameSite=Strict session cookie, `DELETE` ends it, `GET` says whether a login is needed. All three
 * need no token themselves; the token travels only in the POST's JSON body, never in a URL.
 */
export function sessionRoutes(deps: SessionRoutesDeps) {
  const clock = deps.clock ?? Date.now;
  const state = (authenticated: boolean, expiresAt: number | undefined): SessionState => ({
    tokenRequired: deps.token !== null,
    authenticated,
    expiresAt: expiresAt === undefined ? null : new Date(expiresAt).toISOString(),
  });
  return new Hono()
    .get("/auth/session", (c) => {
      if (deps.token === null) return c.json(state(true, undefined));
      const header = /^Bearer\s+(.+)$/i.exec(c.req.header("authorization") ?? "");
      if (header?.[1] && deps.matches(header[1])) return c.json(state(true, undefined));
      const session = readSession(c, deps.sessions);
      return c.json(state(session !== undefined, session?.expiresAt));
    })
    .post("/auth/session", jsonBody(CreateSessionBody), (c) => {
      if (deps.token === null) return c.json(state(true, undefined));
      const { token } = c.req.valid("json");
      if (!deps.matches(token)) {
        return c.json(errorBody("unauthorized", "wrong token"), 401);
      }
      // A login replaces the session this browser had, so logging in again never piles sessions up.
      const previous = readSession(c, deps.sessions);
      if (previous !== undefined) deps.sessions.delete(previous.id);
      const session = deps.sessions.create();
      setSessionCookie(c, session, clock());
      return c.json(state(true, session.expiresAt));
    })
    .delete("/auth/session", (c) => {
      const session = readSession(c, deps.sessions);
      if (session !== undefined) deps.sessions.delete(session.id);
      clearSessionCookie(c);
      return c.body(null, 204);
    });
}
