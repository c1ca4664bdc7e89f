export { createClient, type DispatchClient, finalEventTypes, isFinalEvent } from "./client.js";
export { DispatchApiError } from "./errors.js";
export type { EventStreamOptions } from "./event-stream.js";
export type { components, operations, paths } from "./generated/openapi.js";
export type { CallOptions, ClientOptions, RequestSpec } from "./http.js";
export { readSse, type SseItem } from "./sse.js";
export type * from "./types.js";
