import { DispatchError, formatPath } from "@dispatch/kernel";
import type { HonoRequest } from "hono";
import { validator } from "hono/validator";
import type { z } from "zod";
import { invalidRequest } from "../error-response.ts";

const jsonType = /^application\/([\w.-]+\+)?json$/i;

/** True when the request says it carries no body: `Content-Length: 0`, or neither a length nor chunks. */
function hasNoBody(req: HonoRequest): boolean {
  const length = req.header("content-length");
  if (length !== undefined) return length.trim() === "0";
  return req.header("transfer-encoding") === undefined;
}

/**
 * Validates a JSON request body with a zod schema: 415 unless the content type is JSON, 400 for a
 * body that does not match (details list each path and message). Hono itself answers malformed JSON
 * with an HTTPException(400), which `onError` renders as `invalid_request`. A request with no body at
 * all (`fetch(url, { method: "POST" })`, `curl -X POST`) is read as `{}`, whatever its content type,
 * so a route whose fields are all optional takes it and any other says which field is missing.
 */
export function jsonBody<S extends z.ZodType>(schema: S) {
  const parse = (value: unknown): z.output<S> => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ path: formatPath("", i.path), message: i.message }));
      throw invalidRequest(`invalid body: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, {
        issues,
      });
    }
    return parsed.data;
  };
  const validate = validator("json", (value, c): z.output<S> => {
    const mediaType = (c.req.header("content-type") ?? "").split(";")[0]?.trim() ?? "";
    if (!jsonType.test(mediaType)) {
      throw new DispatchError(
        "unsupported_media_type",
        "send the body as JSON with Content-Type: application/json",
      );
    }
    return parse(value);
  });
  const jsonBody: typeof validate = async (c, next) => {
    if (!hasNoBody(c.req)) return validate(c, next);
    // addValidatedData takes `{}`; our schemas are objects, which zod's generic output does not say.
    c.req.addValidatedData("json", parse({}) as object);
    await next();
  };
  return jsonBody;
}
