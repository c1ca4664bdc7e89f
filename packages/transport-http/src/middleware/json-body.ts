import { DispatchError, formatPath } from "@dispatch/kernel";
import { validator } from "hono/validator";
import type { z } from "zod";
import { invalidRequest } from "../error-response.ts";

const jsonType = /^application\/([\w.-]+\+)?json$/i;

/**
 * Validates a JSON request body with a zod schema: 415 unless the content type is JSON, 400 for a
 * body that does not match (details list each path and message). Hono itself answers malformed JSON
 * with an HTTPException(400), which `onError` renders as `invalid_request`.
 */
export function jsonBody<S extends z.ZodType>(schema: S) {
  return validator("json", (value, c): z.output<S> => {
    const mediaType = (c.req.header("content-type") ?? "").split(";")[0]?.trim() ?? "";
    if (!jsonType.test(mediaType)) {
      throw new DispatchError(
        "unsupported_media_type",
        "send the body as JSON with Content-Type: application/json",
      );
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ path: formatPath("", i.path), message: i.message }));
      throw invalidRequest(`invalid body: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, {
        issues,
      });
    }
    return parsed.data;
  });
}
