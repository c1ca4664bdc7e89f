import { timerDelayMs } from "@dispatch/kernel";
import { z } from "zod";

/** The `server` config slice. */
export const serverConfigSchema = z
  .object({
    host: z.string().min(1).default("127.0.0.1"),
    port: z.number().int().min(0).max(65535).default(7878),
    token: z.string().min(16, "must be at least 16 characters").nullable().default(null),
    bodyLimitBytes: z
      .number()
      .int()
      .min(1024)
      .default(1024 * 1024),
    /** Origins (`scheme://host[:port]`) whose browser pages may call the API. */
    corsOrigins: z.array(z.string()).default([]),
    /**
     * Host header values accepted without a token besides loopback ones (`localhost`, `127.*`,
     * `[::1]`): `name` for any port, or `name:port`. Guards against DNS rebinding.
     */
    allowedHosts: z.array(z.string().min(1)).default([]),
    heartbeatMs: timerDelayMs(10).default(15000),
    sseBufferEvents: z.number().int().min(1).default(1000),
    /** How long a browser session (`POST /auth/session`) lasts before the page asks for the token again. */
    sessionTtlMs: z.number().int().min(1000).default(86_400_000),
  })
  .strict()
  .default({
    host: "127.0.0.1",
    port: 7878,
    token: null,
    bodyLimitBytes: 1024 * 1024,
    corsOrigins: [],
    allowedHosts: [],
    heartbeatMs: 15000,
    sseBufferEvents: 1000,
    sessionTtlMs: 86_400_000,
  });

/** Parsed `server` config. */
export type ServerConfig = z.output<typeof serverConfigSchema>;

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}
