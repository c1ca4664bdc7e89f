export type { AppType } from "./app.ts";
export { isLoopback, type ServerConfig, serverConfigSchema } from "./config.ts";
export { transportHttpExtension } from "./extension.ts";
export { jsonBody } from "./middleware/json-body.ts";
export { type HttpRoutes, httpRoutesRef } from "./types.ts";
