import { slugPattern } from "@dispatch/wire";
import { invalidField, type StoreError } from "./store-error.ts";

/** Checks a string's length in UTF-16 units (the unit zod's `.max` counts at the HTTP edge). */
export function checkText(field: string, value: unknown, bounds: { min?: number; max: number }): string {
  if (typeof value !== "string") throw invalidField(field, `must be a string, got ${typeName(value)}`);
  const min = bounds.min ?? 0;
  if (value.length < min) {
    throw invalidField(field, min === 1 ? "must not be empty" : `must be at least ${min} characters`);
  }
  if (value.length > bounds.max) {
    throw invalidField(field, `must be at most ${bounds.max} characters, got ${value.length}`, {
      limit: bounds.max,
    });
  }
  return value;
}

/** Checks a workspace or host id against the slug pattern. */
export function checkSlug(field: string, value: unknown): string {
  if (typeof value !== "string" || !slugPattern.test(value)) {
    throw invalidField(field, `must match ${slugPattern.source}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks a string's UTF-8 size; the cheap length bound avoids encoding short strings. */
export function checkUtf8Bytes(field: string, text: string, maxBytes: number): void {
  // A UTF-16 unit never encodes to more than 3 UTF-8 bytes.
  if (text.length * 3 <= maxBytes) return;
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > maxBytes) {
    throw invalidField(field, `must be at most ${maxBytes} bytes (UTF-8), got ${bytes}`, { limit: maxBytes });
  }
}

/** Serialises an event payload to JSON and checks its size. */
export function serializePayload(field: string, data: unknown, maxBytes: number): string {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw invalidField(field, `must be a JSON object, got ${typeName(data)}`);
  }
  let json: string;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    throw invalidField(field, "cannot be serialised to JSON", { cause: String(error) });
  }
  checkUtf8Bytes(field, json, maxBytes);
  return json;
}

/** Checks an integer parameter such as a seq, a limit or a TTL. */
export function checkInteger(field: string, value: unknown, bounds: { min: number; max?: number }): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < bounds.min) {
    throw invalidField(field, `must be an integer >= ${bounds.min}, got ${String(value)}`);
  }
  if (bounds.max !== undefined && value > bounds.max) {
    throw invalidField(field, `must be an integer <= ${bounds.max}, got ${value}`, { limit: bounds.max });
  }
  return value;
}

/** `invalid_request` for `field` that quotes the rejected value. */
export function invalidFieldOf(field: string, value: unknown, message: string): StoreError {
  return invalidField(field, `${message}, got ${JSON.stringify(value) ?? String(value)}`);
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}
