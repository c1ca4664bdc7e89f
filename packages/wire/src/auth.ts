import { z } from "zod";

/** Body of `POST /auth/session`: the configured token, exchanged for an HttpOnly session cookie. */
export const CreateSessionBody = z.object({ token: z.string().min(1).max(4096) }).strict();
export type CreateSessionBody = z.infer<typeof CreateSessionBody>;

/** `GET /auth/session` and the answer to `POST /auth/session`: whether a browser must log in. */
export const SessionState = z.object({
  /** A token is configured, so the API needs it (as a bearer token or a session cookie). */
  tokenRequired: z.boolean(),
  /** This request carried a valid token or session cookie (always true when none is required). */
  authenticated: z.boolean(),
  /** When the session cookie this request carried expires. */
  expiresAt: z.string().nullable().describe("ISO-8601 time"),
});
export type SessionState = z.infer<typeof SessionState>;
