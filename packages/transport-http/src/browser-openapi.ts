import { CreateSessionBody, MemoryHistory, SessionState } from "@dispatch/wire";
import type { Operation } from "./openapi.ts";

/** The OpenAPI entries of the browser-facing core routes: home redirect, login, memory history. */
export const browserOperations: Operation[] = [
  {
    method: "get",
    path: "/",
    operationId: "home",
    summary: "Redirects to the dashboard when one is installed",
    description: "302 to the mount path of the contribution marked `home` (the dashboard); 404 without one.",
    ok: { status: 302, description: "Redirect to the dashboard" },
    errors: [404],
    auth: false,
  },
  {
    method: "get",
    path: "/auth/session",
    operationId: "getSession",
    summary: "Whether this browser must log in",
    ok: { status: 200, schema: SessionState },
    errors: [],
    auth: false,
  },
  {
    method: "post",
    path: "/auth/session",
    operationId: "login",
    summary: "Log in: exchanges the token for a session cookie",
    description: [
      "Answers with `Set-Cookie: dispatch_session_<port>=…; HttpOnly; SameSite=Strict; Path=/` (and",
      "`Secure` over https), which the API and its event streams then accept in place of the bearer",
      "token, except on requests the browser marks as sent by another origin's page (403). The token",
      "travels only in this body. Without a token configured it sets no cookie.",
    ].join(" "),
    body: CreateSessionBody,
    ok: { status: 200, schema: SessionState },
    errors: [400, 401, 415],
    auth: false,
  },
  {
    method: "delete",
    path: "/auth/session",
    operationId: "logout",
    summary: "Log out: ends the session and clears its cookie",
    ok: { status: 204 },
    errors: [],
    auth: false,
  },
  {
    method: "get",
    path: "/telemetry/memory",
    operationId: "memoryHistory",
    summary: "Memory samples of the last hour (at most one per 5 s), oldest first, with the limit",
    ok: { status: 200, schema: MemoryHistory },
    errors: [404],
  },
];
