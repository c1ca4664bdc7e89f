/**
 * The `__ID__` Dispatch extension. `GET /__ID__` answers with the greeting from its config slice (the
 * top-level key `__ID__`) and how many workspaces were created since it started, counted from the
 * `workspace.created` bus event.
 *
 * Load it with `"extensions": { "paths": ["<this folder>/src/index.ts"] }` in the host's config file.
 */
// For its types only: the store declares the `workspace.*` events this extension listens to.
import type {} from "@dispatch/conversation-store";
import { createServiceRef, defineExtension } from "@dispatch/kernel";
import { httpRoutesPoint } from "@dispatch/transport-http";
import { Hono } from "hono";
import { z } from "zod";

/** The `__ID__` config slice. `.strict()` makes a misspelt key an error that names its path. */
export const configSchema = z
  .object({ greeting: z.string().min(1).max(200).default("Hello") })
  .strict()
  .default({ greeting: "Hello" });

/** What `GET /__ID__` answers. */
export interface StatusResponse {
  greeting: string;
  workspacesCreated: number;
}

/** Our routes, made in `activate`; `register` hands transport-http a getter for them. */
const routesRef = createServiceRef<Hono>("__ID__.routes");

/** The extension definition; the host finds it as this module's default export. */
export const extension = defineExtension({
  manifest: { id: "__ID__", version: "0.1.0", extends: ["transport-http"] },
  provides: [routesRef],
  config: { key: "__ID__", schema: configSchema },
  // runs before anything activates: contributions only, no I/O
  register(reg) {
    reg.contribute(httpRoutesPoint, {
      path: "/__ID__",
      routes: reg.provided(routesRef),
      openapi: [{ method: "get", path: "/", summary: "The greeting", ok: { status: 200 }, errors: [401] }],
    });
  },
  activate(ctx) {
    let workspacesCreated = 0;
    // removed when the extension stops; a throw in here is logged and counted against it
    ctx.bus.subscribe("workspace.created", () => {
      workspacesCreated++;
    });
    const routes = new Hono().get("/", (c) =>
      c.json<StatusResponse>({ greeting: ctx.config.greeting, workspacesCreated }),
    );
    ctx.provide(routesRef, routes);
  },
});

export default extension;
