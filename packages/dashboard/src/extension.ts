import { createServiceRef, defineExtension } from "@dispatch/kernel";
import { httpRoutesPoint } from "@dispatch/transport-http";
import type { Hono } from "hono";
import { buildDashboard, type DashboardBundle, readDashboard } from "./build.ts";
import { dashboardOperations, dashboardRoutes } from "./routes.ts";

/** The routes over the loaded bundle, made at activation (a ref of the extension's own). */
const dashboardRoutesRef = createServiceRef<Hono>("dashboard.routes");

/**
 * The browser dashboard (DESIGN §18): serves the bundle built by bin/lib/bootstrap.sh from
 * `packages/dashboard/dist` at `/dashboard` (public: it holds no data; `GET /` redirects here). The
 * page reads everything through the API with the session cookie of `POST /auth/session`. When the
 * bundle on disk is missing or older than the sources (a `bun test` run without the bootstrap), it is
 * built in memory at activation instead.
 */
export const dashboardExtension = defineExtension({
  manifest: { id: "dashboard", version: "0.1.0", extends: ["transport-http"] },
  provides: [dashboardRoutesRef],
  register(reg) {
    reg.contribute(httpRoutesPoint, {
      path: "/dashboard",
      public: true,
      home: true,
      routes: reg.provided(dashboardRoutesRef),
      openapi: dashboardOperations,
    });
  },
  async activate(ctx) {
    let bundle: DashboardBundle | undefined = readDashboard();
    let builtAtStart = false;
    if (bundle === undefined) {
      ctx.logger.warn(
        "the dashboard bundle in packages/dashboard/dist is missing or older than its sources; building it in memory (bin/dispatch builds it once, at bootstrap)",
      );
      bundle = await buildDashboard();
      builtAtStart = true;
    }
    const { sourceHash, files } = bundle;
    const bytes = files.reduce((sum, f) => sum + f.bytes.byteLength, 0);
    ctx.setHealth(() => ({ build: sourceHash, files: files.length, bytes, builtAtStart }));
    ctx.provide(dashboardRoutesRef, dashboardRoutes(bundle));
  },
});
