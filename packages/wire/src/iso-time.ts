import { z } from "zod";

/**
 * An ISO-8601 time as the API writes it (`Date#toISOString()`). Typed `format: date-time` in the
 * OpenAPI document; not parsed as a date here, since the schemas describe what the server sends.
 */
export const IsoTime = z.string().meta({ format: "date-time", description: "ISO-8601 time (UTC)" });
