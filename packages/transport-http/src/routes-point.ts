import { createExtensionPoint } from "@dispatch/kernel";
import type { Hono } from "hono";
import type { Operation } from "./openapi.ts";

/**
 * Routes contributed to the HTTP API, mounted behind the same middleware as the core routes (request
 * ids, body limit, CORS, token) and listed in `/openapi.json`. The core routes are transport-http's
 * own contribution at `/`.
 */
export interface HttpRouteContribution {
  /**
   * Where `routes` is mounted: `/`, or `/segment[/segment…]` of letters, digits, `.`, `_`, `-`, or
   * `:param` segments (`/conversations/:id/approvals`, whose routes read `c.req.param("id")`);
   * unique. A parameter lets two extensions add routes below one resource without sharing a mount.
   */
  readonly path: string;
  /**
   * The sub-app, its paths relative to `path`; or a factory for it, called once every extension has
   * activated and before the server listens (so it may use the contributor's running state, see
   * `reg.provided`). A factory that throws stops start-up, naming the contributor.
   */
  readonly routes: Hono | (() => Hono);
  /** The operations these routes answer, with paths relative to `path` in OpenAPI form (`/{id}`). */
  readonly openapi: readonly Operation[];
  /**
   * Everything under `path` is served without the token: only for routes that hold no data (the
   * dashboard's page and scripts). Default false.
   */
  readonly public?: boolean;
  /** `GET /` redirects to `path` (the dashboard). At most one contribution may say so. Default false. */
  readonly home?: boolean;
}

/** The HTTP routes extension point of transport-http; contributions are unique by mount path. */
export const httpRoutesPoint = createExtensionPoint<HttpRouteContribution>({
  id: "transport-http.routes",
  keyOf: (routes) => routes.path,
});
