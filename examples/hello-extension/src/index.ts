/**
 * A third-party Dispatch extension: it adds `GET /hello` to the HTTP API and listens on the event bus.
 * It lives like an extension outside the repo would (the scaffold's package.json and tsconfig, only
 * public `@dispatch/*` entries, resolved through `bin/dispatch link`), so it is tested with
 * `bin/dispatch test examples/hello-extension`. Load it with
 * `"extensions": { "paths": ["path/to/examples/hello-extension/src/index.ts"] }` in the config file;
 * its own settings live under the top-level key `hello`.
 */
// Imported for its types only: the store declares the `workspace.*` events this extension listens to.
import type {} from "@dispatch/conversation-store";
import { createServiceRef, defineExtension } from "@dispatch/kernel";
import { httpRoutesPoint } from "@dispatch/transport-http";
import { Hono } from "hono";
import { z } from "zod";

/** The `hello` config slice. `.strict()` makes a misspelt key an error that names its path. */
export const helloConfigSchema = z
  .object({ message: z.string().min(1).max(200).default("Hello from an extension!") })
  .strict()
  .default({ message: "Hello from an extension!" });

/** What `GET /hello` answers. */
export interface HelloResponse {
  message: string;
  /** Workspaces created since this extension started, counted from `workspace.created` bus events. */
  workspacesCreated: number;
}

/** Our routes, made in `activate`; `register` hands transport-http a getter for them. */
const helloRoutesRef = createServiceRef<Hono>("hello.routes");

/** The extension definition; the host finds it as this module's default export. */
export const helloExtension = defineExtension({
  manifest: {
    id: "hello",
    version: "0.1.0",
    // we contribute routes to transport-http's extension point
    extends: ["transport-http"],
  },
  provides: [helloRoutesRef],
  config: { key: "hello", schema: helloConfigSchema },
  register(reg) {
    reg.contribute(httpRoutesPoint, {
      path: "/hello",
      routes: reg.provided(helloRoutesRef),
      openapi: [
        {
          method: "get",
          path: "/",
          summary: "A greeting and a count of new workspaces",
          ok: { status: 200 },
          errors: [401],
        },
      ],
    });
  },
  activate(ctx) {
    let workspacesCreated = 0;
    // removed automatically when the extension stops; a throw here would be counted against "hello"
    ctx.bus.subscribe("workspace.created", ({ workspace }) => {
      workspacesCreated++;
      ctx.logger.info("a workspace was created", { workspace: workspace.id });
    });

    const routes = new Hono().get("/", (c) =>
      c.json<HelloResponse>({ message: ctx.config.message, workspacesCreated }),
    );
    ctx.provide(helloRoutesRef, routes);
    ctx.setHealth(() => ({ workspacesCreated }));
  },
});

export default helloExtension;
