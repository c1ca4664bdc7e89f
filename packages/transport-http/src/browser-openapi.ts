import { CreateSessionBody, MemoryHistory, SessionState } from "@dispatch/wire";
import type { Operation } from "./openapi.ts";

/** The OpenAPI entries of the browser-facing core routes: home redirect, login, memory history. */
export const browserOperations: Operation[] = [
  {
    method: "get",
    path: "/",
    summary: "Redirects to the dashboard when one is installed (needs no token)",
    ok: { status: 302 },
    errors: [404],
  },
  {
    method: "get",
    path: "/auth/session",
    summary: "Whether this browser must log in (needs no token)",
    ok: { status: 200, schema: SessionState },
    errors: [],
  },
  {
    method: "post",
    path: "/auth/session",
    summary: "Log in: exchanges the token for an HttpOnly, SameSite=Strict session cookie",
    body: CreateSessionBody,
    ok: { status: 200, schema: SessionState },
    errors: [400, 401, 415],
  },
  {
    method: "delete",
    path: "/auth/session",
    summary: "Log out: ends the session and clears its cookie",
    ok: { status: 204 },
    errors: [],
  },
  {
    method: "get",
    path: "/telemetry/memory",
    summary: "Memory samples of the last hour (at most one per 5 s), oldest first, with the limit",
    ok: { status: 200, schema: MemoryHistory },
    errors: [401, 404],
  },
];
