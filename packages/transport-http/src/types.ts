import { createServiceRef } from "@dispatch/kernel";

/** The running server, for tests and tools that talk to it; routes are added through `httpRoutesPoint`. */
export interface HttpServer {
  /** Where the server listens (the real port when configured with 0), once it does. */
  address(): { host: string; port: number } | undefined;
}

/** The service ref of the running server. */
export const httpServerRef = createServiceRef<HttpServer>("transport-http");
