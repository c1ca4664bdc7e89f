import { DispatchError, formatPath } from "@dispatch/kernel";
import type { ApiOperation } from "@dispatch/transport-http";
import { UsageQuery, UsageReport } from "@dispatch/wire";
import { Hono } from "hono";
import type { UsageService } from "./types.ts";

/** `GET /usage`, mounted at `/usage`. */
export function usageRoutes(usage: () => UsageService) {
  return new Hono().get("/", async (c) => {
    const parsed = UsageQuery.safeParse(c.req.query());
    if (!parsed.success) {
      const issues = parsed.error.issues.flatMap((issue) =>
        issue.code === "unrecognized_keys"
          ? issue.keys.map((key) => ({ path: key, message: "unknown query parameter" }))
          : [{ path: formatPath("", issue.path), message: issue.message }],
      );
      throw new DispatchError("invalid_request", issues.map((i) => `${i.path}: ${i.message}`).join("; "), {
        details: { issues },
      });
    }
    const { from, to } = parsed.data;
    if (from !== undefined && to !== undefined && Date.parse(from) > Date.parse(to)) {
      throw new DispatchError("invalid_request", "from must not be after to", { details: { field: "from" } });
    }
    return c.json(await usage().report(parsed.data));
  });
}

/** The OpenAPI entry of `GET /usage` (relative to `/usage`). */
export const usageOperations: ApiOperation[] = [
  {
    method: "get",
    path: "/",
    summary:
      "Tokens (and cost, when priced) of the model calls, summed: workspaceId, from (inclusive) and to (exclusive) as ISO dates or times, groupBy=day|conversation|model",
    query: UsageQuery,
    ok: { status: 200, schema: UsageReport },
    errors: [400, 401],
  },
];
