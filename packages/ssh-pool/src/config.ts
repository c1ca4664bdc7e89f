import { timerDelayMs } from "@dispatch/kernel";
import { z } from "zod";

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be a lowercase slug (a-z, 0-9, -)");
const positiveMs = timerDelayMs(1);

const breakerSchema = z
  .object({
    /** Consecutive connection failures that open the breaker. */
    failureThreshold: z.number().int().min(1).default(5),
    /** How long the breaker stays open before one trial connection is allowed. */
    cooldownMs: positiveMs.default(30_000),
  })
  .strict();

/** One remote host a workspace can run its tools on. */
export const hostConfigSchema = z
  .object({
    id: slug,
    host: z.string().min(1),
    port: z.number().int().min(1).max(65_535).default(22),
    username: z.string().min(1),
    /** Private key file; a leading `~` is the current user's home. */
    privateKeyPath: z.string().min(1).optional(),
    /** Authenticate with the SSH agent at `SSH_AUTH_SOCK`. */
    agent: z.boolean().default(false),
    /**
     * The host key's `SHA256:…` fingerprint (`ssh-keygen -lf`). Optional here so a new host can be
     * configured before its fingerprint is known: connecting without it fails with the fingerprint seen.
     */
    hostKeySha256: z
      .string()
      .regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, 'must look like "SHA256:" followed by 43 base64 characters')
      .optional(),
    maxConnections: z.number().int().min(1).max(64).default(4),
    /** Keep under sshd's `MaxSessions` (default 10); an sftp session takes one of them. */
    maxChannelsPerConnection: z.number().int().min(1).max(64).default(8),
    connectTimeoutMs: positiveMs.default(10_000),
    commandTimeoutMs: positiveMs.default(120_000),
    /** 0 turns keepalive off. */
    keepaliveIntervalMs: timerDelayMs(0).default(15_000),
    idleTimeoutMs: positiveMs.default(300_000),
    breaker: breakerSchema.default({ failureThreshold: 5, cooldownMs: 30_000 }),
  })
  .strict()
  .refine((host) => host.privateKeyPath !== undefined || host.agent, {
    message: "set privateKeyPath or agent: true (or both)",
  });

/** The `hosts` config slice: hosts with unique ids. */
export const hostsConfigSchema = z
  .array(hostConfigSchema)
  .default([])
  .superRefine((hosts, ctx) => {
    const seen = new Set<string>();
    hosts.forEach((host, index) => {
      if (seen.has(host.id)) {
        ctx.addIssue({ code: "custom", path: [index, "id"], message: `duplicate host id "${host.id}"` });
      }
      seen.add(host.id);
    });
  });

/** A validated, defaulted host entry. */
export type HostConfig = z.output<typeof hostConfigSchema>;
/** A host entry as written in config. */
export type HostConfigInput = z.input<typeof hostConfigSchema>;
