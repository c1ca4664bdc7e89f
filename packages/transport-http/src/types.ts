import { createServiceRef } from "@dispatch/kernel";
import type { Hono } from "hono";

/** Lets other extensions add routes: each mounts its own sub-app under a path prefix before the server starts. */
export interface HttpRoutes {
  /** Mounts `app` under `path` (for example `/hello`); throws once the server is listening. */
  mount(path: string, app: Hono): void;
  /** Where the server listens (the real port when configured with 0), once it does. */
  address(): { host: string; port: number } | undefined;
}

/** The service ref extensions use to mount routes. */
export const httpRoutesRef = createServiceRef<HttpRoutes>("transport-http");
