export type { AppType } from "./app.ts";
export { isLoopback, type ServerConfig, serverConfigSchema } from "./config.ts";
export { transportHttpExtension } from "./extension.ts";
export { jsonBody } from "./middleware/json-body.ts";
export type { Operation as ApiOperation } from "./openapi.ts";
export { type HttpRouteContribution, httpRoutesPoint } from "./routes-point.ts";
export { type HttpServer, httpServerRef } from "./types.ts";
