import { join } from "node:path";
import { conversationStoreRef } from "@dispatch/conversation-store";
import { createServiceRef, DispatchError, defineExtension, Gauge } from "@dispatch/kernel";
import { memoryTelemetryRef } from "@dispatch/mem-telemetry";
import { concurrencyManagerRef } from "@dispatch/provider-concurrency";
import { providersRef } from "@dispatch/providers";
import { orchestratorRef } from "@dispatch/session-orchestrator";
import { executionBackendsRef } from "@dispatch/workspace-tools";
import type { Hono } from "hono";
import { apiRoutes, createApp } from "./app.ts";
import { browserOperations } from "./browser-openapi.ts";
import { BrowserSessions } from "./browser-sessions.ts";
import { isLoopback, serverConfigSchema } from "./config.ts";
import type { ApiDeps } from "./deps.ts";
import { homePath, liveOpenApi, type MountedRoutes, mountRoutes, publicPaths } from "./mount-routes.ts";
import { operations } from "./openapi.ts";
import { httpRoutesPoint } from "./routes-point.ts";
import { SseHub } from "./sse-hub.ts";
import { type HttpServer, httpServerRef } from "./types.ts";

/** The core routes, made at activation: transport-http's own, so that its contribution can reach them. */
const coreRoutesRef = createServiceRef<Hono>("transport-http.core-routes");

/** How long shutdown waits for event streams to deliver their last events before it cuts them. */
const shutdownGraceMs = 2000;

/** The HTTP transport: serves the API with Hono on Bun.serve once every extension has activated. */
export const transportHttpExtension = defineExtension({
  manifest: {
    id: "transport-http",
    version: "0.1.0",
    critical: true,
    dependsOn: ["conversation-store", "provider-concurrency", "providers", "session-orchestrator"],
    optionalDependsOn: ["workspace-tools", "mem-telemetry"],
  },
  provides: [httpServerRef, coreRoutesRef],
  extensionPoints: [httpRoutesPoint],
  config: { key: "server", schema: serverConfigSchema },
  register(reg) {
    reg.contribute(httpRoutesPoint, {
      path: "/",
      routes: reg.provided(coreRoutesRef),
      openapi: [...operations, ...browserOperations],
    });
  },
  activate(ctx) {
    const config = ctx.config;
    if (!isLoopback(config.host) && config.token === null) {
      throw new DispatchError(
        "insecure_bind",
        `refusing to listen on ${config.host} without a token: set server.token or DISPATCH_TOKEN, or bind to 127.0.0.1`,
      );
    }
    const deps: ApiDeps = {
      host: ctx.host,
      logger: ctx.logger,
      metrics: ctx.metrics,
      config,
      store: ctx.use(conversationStoreRef),
      orchestrator: ctx.use(orchestratorRef),
      providers: ctx.use(providersRef),
      concurrency: ctx.use(concurrencyManagerRef),
      backends: ctx.useOptional(executionBackendsRef),
      memory: ctx.useOptional(memoryTelemetryRef),
      // Bun ends the connection once it is idle that long (whole seconds, checked every few seconds).
      closeWhenIdle: (request, seconds) => server?.timeout(request, seconds),
    };
    let server: ReturnType<typeof Bun.serve> | undefined;
    const sse = new SseHub({
      heartbeatMs: config.heartbeatMs,
      maxUnread: 64,
      // A dropped client is idle by definition: the server can no longer write to it.
      closeConnection: (request) => deps.closeWhenIdle(request, 1),
    });
    let mounted: readonly MountedRoutes[] = [];
    const inService = (extensionId: string) =>
      ctx.contributions(httpRoutesPoint).some((c) => c.extensionId === extensionId);
    // Only with a token is there anything to log in to (and a file worth keeping).
    const sessions = new BrowserSessions({
      ttlMs: config.sessionTtlMs,
      secret: config.token ?? "",
      ...(config.token === null ? {} : { file: join(ctx.dataDir, "browser-sessions.json") }),
    });
    const app = createApp(deps, { sessions, isPublic: publicPaths(() => mounted, inService) });
    ctx.provide(
      coreRoutesRef,
      apiRoutes(
        deps,
        sse,
        liveOpenApi(ctx.host.version, () => mounted, inService),
        {
          sessions,
          home: homePath(() => mounted, inService),
        },
      ),
    );
    new Gauge({
      name: "dispatch_sse_clients",
      help: "Open server-sent event streams",
      registers: [ctx.metrics],
      collect() {
        this.set(sse.size);
      },
    });

    let address: { host: string; port: number } | undefined;
    ctx.provide(httpServerRef, {
      address: () => address,
      closeWhenIdle: (request, seconds) => deps.closeWhenIdle(request, seconds),
      routes: () =>
        address === undefined
          ? []
          : app.routes
              .filter((route) => route.method !== "ALL")
              .map(({ method, path }) => ({ method, path })),
    } satisfies HttpServer);

    ctx.onReady(() => {
      // Every extension is active now, so route factories can use their contributors' state.
      mounted = mountRoutes(app, ctx.contributions(httpRoutesPoint), {
        owner: ctx.id,
        inService,
        warn: (message, fields) => ctx.logger.warn(message, fields),
      });
      server = Bun.serve({
        hostname: config.host,
        port: config.port,
        fetch: app.fetch,
        // No cap of Bun's own: past it Bun answers a bare 413 without our JSON body or request id. Ours
        // (the edge middleware) refuses on Content-Length before reading, stops a chunked body at the
        // limit, and closes the connection so the rest is never read.
        maxRequestBodySize: Number.MAX_SAFE_INTEGER,
        idleTimeout: 0,
      });
      address = { host: server.hostname ?? config.host, port: server.port ?? config.port };
      const url = `http://${address.host}:${address.port}`;
      ctx.logger.info("listening", { url });
      ctx.setHealth(() => ({ url, sseClients: sse.size }));
      const listening = server;
      ctx.onDispose(async () => {
        // No new connections; requests in flight, the event streams among them, may finish.
        const stopped = listening.stop(false).catch(() => {});
        // Turns are interrupted first, so every stream gets its turn's `turn.interrupted` live, then
        // each ends cleanly once its client has read it, or is cut after the grace period.
        await deps.orchestrator.interruptAll();
        sse.finishAll("shutdown");
        let grace: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          stopped,
          new Promise((resolve) => (grace = setTimeout(resolve, shutdownGraceMs))),
        ]);
        clearTimeout(grace);
        sse.closeAll();
        await listening.stop(true);
      });
    });
  },
});
