import { DispatchError, defineExtension } from "@dispatch/kernel";
import { Hono } from "hono";
import { isLoopback, serverConfigSchema } from "./config.ts";
import { healthRoutes } from "./routes/health.ts";
import { type HttpRoutes, httpRoutesRef } from "./types.ts";

/** The HTTP transport: serves the API with Hono on Bun.serve once every extension has activated. */
export const transportHttpExtension = defineExtension({
  manifest: { id: "transport-http", version: "0.1.0", critical: true },
  provides: [httpRoutesRef],
  config: { key: "server", schema: serverConfigSchema },
  activate(ctx) {
    const config = ctx.config;
    if (!isLoopback(config.host) && config.token === null) {
      throw new DispatchError(
        "insecure_bind",
        `refusing to listen on ${config.host} without a token: set server.token or DISPATCH_TOKEN, or bind to 127.0.0.1`,
      );
    }
    const app = new Hono();
    app.route("/", healthRoutes(ctx.host));
    let address: { host: string; port: number } | undefined;
    const routes: HttpRoutes = {
      mount(path, sub) {
        if (address)
          throw new DispatchError("too_late", `cannot mount ${path}: the server is already listening`);
        app.route(path, sub);
      },
      address: () => address,
    };
    ctx.provide(httpRoutesRef, routes);

    ctx.onReady(() => {
      const server = Bun.serve({ hostname: config.host, port: config.port, fetch: app.fetch });
      address = { host: server.hostname ?? config.host, port: server.port ?? config.port };
      const url = `http://${address.host}:${address.port}`;
      ctx.logger.info("listening", { url });
      ctx.setHealth(() => ({ url }));
      ctx.onDispose(() => server.stop(true));
    });
  },
});
