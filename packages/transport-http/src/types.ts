import { createServiceRef } from "@dispatch/kernel";

/** The running server, for tests and tools that talk to it; routes are added through `httpRoutesPoint`. */
export interface HttpServer {
  /** Where the server listens (the real port when configured with 0), once it does. */
  address(): { host: string; port: number } | undefined;
  /**
   * Every method and path the app answers (Hono's form, `/workspaces/:id`), middleware excluded, once
   * it listens: what a test holds `/openapi.json` to.
   */
  routes(): ReadonlyArray<{ method: string; path: string }>;
  /**
   * Ends a request's connection once it has been idle `seconds`: for an extension's own event stream
   * dropping a client that stopped reading (closing the stream alone leaves the socket, and its
   * buffered bytes, for as long as the client stays connected). A no-op before the server listens.
   */
  closeWhenIdle(request: Request, seconds: number): void;
}

/** The service ref of the running server. */
export const httpServerRef = createServiceRef<HttpServer>("transport-http");
