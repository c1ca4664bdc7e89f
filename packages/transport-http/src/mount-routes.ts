import { type Contribution, DispatchError, messageOf } from "@dispatch/kernel";
import { Hono } from "hono";
import { notFound } from "./error-response.ts";
import { type Operation, openApiDocument } from "./openapi.ts";
import type { HttpRouteContribution } from "./routes-point.ts";

/** A contribution as it was mounted: who made it, where, and its operations with full paths. */
export interface MountedRoutes {
  readonly extensionId: string;
  readonly path: string;
  readonly operations: readonly Operation[];
  /** Served without the token (`HttpRouteContribution.public`). */
  readonly public: boolean;
  /** Where `GET /` redirects (`HttpRouteContribution.home`). */
  readonly home: boolean;
}

/** What `mountRoutes` needs besides the contributions. */
export interface MountOptions {
  /** transport-http's own id: its routes are not guarded (it serves while it runs). */
  owner: string;
  /** Whether a contributor still counts (not failed since); asked on every request to its routes. */
  inService(extensionId: string): boolean;
  /** Reports an OpenAPI entry that matches no route of its contribution. */
  warn(message: string, fields: Record<string, unknown>): void;
}

const mountPath = /^\/$|^(\/(?:[A-Za-z0-9._-]+|:[A-Za-z_][A-Za-z0-9_]*))+$/;

/** Joins a mount path and a path below it the way Hono's `route()` does. */
function joinPath(base: string, path: string): string {
  if (base === "/") return path;
  return path === "/" ? base : `${base}${path}`;
}

/** `GET /workspaces/:` for `GET /workspaces/:id` or an OpenAPI `/workspaces/{id}`: what two routes clash on. */
function routeKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${path.replace(/\{[^}/]+\}/g, ":").replace(/:[^/]+/g, ":")}`;
}

/**
 * Mounts every contribution on `app` in the order given (the owner's first, as it activated first).
 * Throws `invalid_route` for a bad mount path or a factory that throws, and `route_conflict` when two
 * contributions answer one method and path, or both claim to be the home page; each names the
 * contributors. Another extension's routes
 * answer `not_found` once it has failed, so nothing reaches an extension that was stopped.
 */
export function mountRoutes(
  app: Hono,
  contributions: readonly Contribution<HttpRouteContribution>[],
  options: MountOptions,
): MountedRoutes[] {
  const answeredBy = new Map<string, string>();
  const mounted: MountedRoutes[] = [];
  let home: string | undefined;
  for (const { extensionId, value } of contributions) {
    const where = `extension "${extensionId}" (routes at ${value.path})`;
    if (value.home === true) {
      if (home !== undefined) {
        throw new DispatchError(
          "route_conflict",
          `GET / is claimed as the home page by both ${home} and ${where}`,
        );
      }
      if (value.path === "/")
        throw new DispatchError("invalid_route", `${where}: the home page needs a mount path of its own`);
      home = where;
    }
    if (!mountPath.test(value.path)) {
      throw new DispatchError(
        "invalid_route",
        `${where}: the mount path must be "/" or "/segment[/segment...]" of letters, digits, ".", "_" and "-" (or a ":param" segment), without a trailing slash`,
      );
    }
    let routes: Hono;
    try {
      routes = typeof value.routes === "function" ? value.routes() : value.routes;
    } catch (error) {
      throw new DispatchError("invalid_route", `${where}: its routes factory failed: ${messageOf(error)}`, {
        cause: error,
      });
    }

    const own = new Set<string>();
    for (const route of routes.routes) {
      if (route.method === "ALL") continue;
      const full = joinPath(value.path, route.path);
      const key = routeKey(route.method, full);
      const first = answeredBy.get(key);
      if (first !== undefined && first !== extensionId) {
        throw new DispatchError(
          "route_conflict",
          `${route.method} ${full} is answered by both extension "${first}" and ${where}`,
        );
      }
      own.add(key);
    }
    for (const key of own) answeredBy.set(key, extensionId);

    // A parameter in the mount path (`/conversations/:id/approvals`) is `{id}` in OpenAPI form.
    const openApiBase = value.path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, "{$1}");
    const operations = value.openapi.map((op) => ({ ...op, path: joinPath(openApiBase, op.path) }));
    for (const op of operations) {
      if (!own.has(routeKey(op.method, op.path))) {
        options.warn("an OpenAPI entry matches none of its contribution's routes", {
          ext: extensionId,
          operation: `${op.method.toUpperCase()} ${op.path}`,
        });
      }
    }

    if (extensionId === options.owner) app.route(value.path, routes);
    else app.route(value.path, guarded(routes, extensionId, value.path, options.inService));
    mounted.push({
      extensionId,
      path: value.path,
      operations,
      public: value.public === true,
      home: value.home === true,
    });
  }
  return mounted;
}

/** `routes` behind a check that their extension still counts, so a later failure takes them down. */
function guarded(
  routes: Hono,
  extensionId: string,
  path: string,
  inService: (extensionId: string) => boolean,
): Hono {
  return new Hono()
    .use(async (_c, next) => {
      if (!inService(extensionId)) {
        throw notFound(`the routes under ${path} are gone: extension "${extensionId}" is no longer running`);
      }
      await next();
    })
    .route("/", routes);
}

/**
 * Whether a request path is under a public contribution whose extension is in service (the owner's
 * core routes are never public as a whole).
 */
export function publicPaths(
  mounted: () => readonly MountedRoutes[],
  inService: (extensionId: string) => boolean,
): (path: string) => boolean {
  return (path) =>
    mounted().some(
      (m) =>
        m.public &&
        m.path !== "/" &&
        (path === m.path || path.startsWith(`${m.path}/`)) &&
        inService(m.extensionId),
    );
}

/** The mount path `GET /` redirects to, while its extension is in service. */
export function homePath(
  mounted: () => readonly MountedRoutes[],
  inService: (extensionId: string) => boolean,
): () => string | undefined {
  return () => mounted().find((m) => m.home && inService(m.extensionId))?.path;
}

/**
 * The OpenAPI document of the mounted routes whose contributors are in service, for a server at
 * `serverUrl` (the origin it was asked at); rebuilt only when that set or the origin changes (a
 * contributor failed since), not on every request.
 */
export function liveOpenApi(
  version: string,
  mounted: () => readonly MountedRoutes[],
  inService: (extensionId: string) => boolean,
): (serverUrl: string) => Record<string, unknown> {
  let cached: { key: string; document: Record<string, unknown> } | undefined;
  return (serverUrl) => {
    const live = mounted().filter((m) => inService(m.extensionId));
    const key = `${serverUrl} ${live.map((m) => m.extensionId).join(" ")}`;
    if (cached?.key !== key) {
      cached = {
        key,
        document: openApiDocument(
          version,
          live.flatMap((m) => m.operations),
          { serverUrl },
        ),
      };
    }
    return cached.document;
  };
}
