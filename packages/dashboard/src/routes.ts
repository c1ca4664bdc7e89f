import { createHash } from "node:crypto";
import type { ApiOperation } from "@dispatch/transport-http";
import { Hono } from "hono";
import type { BuiltFile, DashboardBundle } from "./build.ts";

/**
 * What the page may load: its own scripts, styles and API, nothing inline and nothing from
 * elsewhere; no framing (clickjacking), no forms posting away, no referrer leaving the page.
 */
const pageHeaders = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
    "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-cache",
};

interface Served {
  readonly file: BuiltFile;
  readonly etag: string;
}

const served = (file: BuiltFile): Served => ({
  file,
  etag: `"${createHash("sha256").update(file.bytes).digest("base64url").slice(0, 22)}"`,
});

/**
 * The page at `/dashboard` and its hashed assets at `/dashboard/assets/<name>`, from memory. Assets
 * never change under a name (the name holds their hash), so they are cached for a year; the page is
 * revalidated by its ETag every time, so a new build shows on the next load.
 */
export function dashboardRoutes(bundle: DashboardBundle) {
  const page = bundle.files.find((f) => f.name === "index.html");
  if (page === undefined) throw new Error("the dashboard bundle has no index.html");
  const index = served(page);
  const assets = new Map(bundle.files.filter((f) => f !== page).map((f) => [f.name, served(f)]));
  const answer = (request: Request, { file, etag }: Served, headers: Record<string, string>) => {
    if (request.headers.get("if-none-match") === etag)
      return new Response(null, { status: 304, headers: { ETag: etag, ...headers } });
    return new Response(file.bytes, { headers: { "Content-Type": file.type, ETag: etag, ...headers } });
  };
  return new Hono()
    .get("/", (c) => answer(c.req.raw, index, pageHeaders))
    .get("/assets/:name", (c) => {
      const asset = assets.get(c.req.param("name"));
      if (asset === undefined) {
        return c.json(
          {
            error: {
              code: "not_found",
              message: "no such dashboard asset (a newer build replaced it: reload the page)",
            },
          },
          404,
        );
      }
      return answer(c.req.raw, asset, {
        "Cache-Control": "public, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff",
      });
    });
}

/** The OpenAPI entries of the dashboard (paths relative to `/dashboard`); both need no token. */
export const dashboardOperations: ApiOperation[] = [
  {
    method: "get",
    path: "/",
    operationId: "dashboard",
    summary: "The dashboard page (it asks for the token when the API needs one)",
    ok: { status: 200, contentType: "text/html" },
    errors: [],
    auth: false,
  },
  {
    method: "get",
    path: "/assets/{name}",
    operationId: "dashboardAsset",
    summary: "A script or style sheet of the dashboard (hashed name, cached for a year)",
    ok: { status: 200, contentType: "application/octet-stream" },
    errors: [404],
    auth: false,
  },
];
