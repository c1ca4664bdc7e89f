import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { BrowserSessions, NewSession } from "./browser-sessions.ts";

/**
 * The session cookie's name carries the port the browser used: cookies are scoped by host name but
 * not by port, so two hosts on one machine (7878 and 7879) would otherwise overwrite each other's
 * session on every login.
 */
export function sessionCookieName(c: Context): string {
  const url = new URL(c.req.url);
  const port = url.port === "" ? (url.protocol === "https:" ? "443" : "80") : url.port;
  return `dispatch_session_${port}`;
}

/** The session the request's cookie names: its id and expiry, or undefined when there is none valid. */
export function readSession(
  c: Context,
  sessions: BrowserSessions,
): { id: string; expiresAt: number } | undefined {
  const id = getCookie(c, sessionCookieName(c));
  if (id === undefined || id.length > 128) return undefined;
  const expiresAt = sessions.expiresAt(id);
  return expiresAt === undefined ? undefined : { id, expiresAt };
}

/**
 * Sets the session cookie: `HttpOnly` (no script of any page reads it), `SameSite=Strict` (no other
 * site's page makes the browser send it), `Path=/`, and `Secure` when the request came over https.
 */
export function setSessionCookie(c: Context, session: NewSession, now: number): void {
  setCookie(c, sessionCookieName(c), session.id, {
    httpOnly: true,
    sameSite: "Strict",
    path: "/",
    secure: new URL(c.req.url).protocol === "https:",
    maxAge: Math.max(1, Math.round((session.expiresAt - now) / 1000)),
  });
}

/** Tells the browser to drop the session cookie. */
export function clearSessionCookie(c: Context): void {
  deleteCookie(c, sessionCookieName(c), { path: "/", httpOnly: true, sameSite: "Strict" });
}

/**
 * True when the browser says the request comes from a page of another origin (`Sec-Fetch-Site:
 * same-site` or `cross-site`). A same-site page on another port of this machine is a different
 * origin but the same site, so SameSite=Strict alone would still let it send the cookie.
 */
export function fromOtherOrigin(c: Context): boolean {
  const site = c.req.header("sec-fetch-site");
  return site === "same-site" || site === "cross-site";
}
