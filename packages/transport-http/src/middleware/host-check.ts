import type { MiddlewareHandler } from "hono";
import { errorBody } from "../error-response.ts";

/** Options for `hostCheck`. */
export interface HostCheckOptions {
  /** With a token configured the Host header is not checked: the token is what keeps others out. */
  token: string | null;
  /** Host header values accepted besides loopback ones: `name` (any port) or `name:port`. */
  allowedHosts?: readonly string[];
  /** Origins a browser may call from besides the server's own (`server.corsOrigins`). */
  corsOrigins?: readonly string[];
}

/** `localhost`, `127.*` and `[::1]`, each with or without a port. */
const loopbackHost = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d{1,5})?$/;

/** The host name of a Host header value, without its port (IPv6 literals keep their brackets). */
function hostName(host: string): string {
  if (host.startsWith("[")) return host.slice(0, host.indexOf("]") + 1);
  const colon = host.lastIndexOf(":");
  return colon === -1 ? host : host.slice(0, colon);
}

/**
 * Refuses, with 403 `forbidden`, what a web page could make a browser send to a host it does not
 * own. Without a token, the Host header must name a loopback address or one of `allowedHosts`: a
 * DNS-rebinding page reaches our loopback port under its own name and is refused. And a browser
 * request (one with an `Origin` header) from any origin other than the server's own and
 * `corsOrigins` is refused, token or not: such a page has no business with this API.
 */
export function hostCheck(options: HostCheckOptions): MiddlewareHandler {
  const allowedHosts = new Set((options.allowedHosts ?? []).map((host) => host.toLowerCase()));
  const origins = new Set(
    (options.corsOrigins ?? []).map((origin) => origin.replace(/\/$/, "").toLowerCase()),
  );
  const checkHost = options.token === null;
  return async function hostCheck(c, next) {
    const host = (c.req.header("host") ?? "").toLowerCase();
    if (
      checkHost &&
      !loopbackHost.test(host) &&
      !allowedHosts.has(host) &&
      !allowedHosts.has(hostName(host))
    ) {
      return c.json(
        errorBody(
          "forbidden",
          `the Host header "${host.slice(0, 200)}" is not allowed: without a token this server answers only ` +
            "loopback names (localhost, 127.x.x.x, [::1]) and server.allowedHosts",
        ),
        403,
      );
    }
    const origin = c.req.header("origin");
    if (origin !== undefined) {
      const normal = origin.toLowerCase();
      const sameOrigin = normal === `http://${host}` || normal === `https://${host}`;
      if (!sameOrigin && !origins.has(normal)) {
        return c.json(
          errorBody(
            "forbidden",
            `requests from the origin "${origin.slice(0, 200)}" are not allowed; list it in server.corsOrigins to allow it`,
          ),
          403,
        );
      }
    }
    return next();
  };
}
