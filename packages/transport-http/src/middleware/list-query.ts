import { formatPath } from "@dispatch/kernel";
import { ListQuery } from "@dispatch/wire";
import type { Env, MiddlewareHandler } from "hono";
import { invalidRequest } from "../error-response.ts";

/** What `hono/client` sends (both optional) and what the route reads (the limit defaulted). */
interface ListQueryTypes {
  in: { query?: { limit?: string | undefined; cursor?: string | undefined } };
  out: { query: ListQuery };
}

/**
 * Validates a list's `limit` and `cursor` query parameters (wire's `ListQuery`): 400 naming the
 * parameter when one is out of bounds. Other parameters are ignored. Written out rather than with
 * hono's `validator`, whose types would make the defaulted `limit` a required parameter.
 */
export function listQuery(): MiddlewareHandler<Env, string, ListQueryTypes> {
  return async function listQuery(c, next) {
    const parsed = ListQuery.safeParse(c.req.query());
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ path: formatPath("", i.path), message: i.message }));
      throw invalidRequest(`invalid query: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, {
        issues,
      });
    }
    c.req.addValidatedData("query", parsed.data);
    await next();
  };
}
