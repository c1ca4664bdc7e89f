import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import {
  type AnyExtension,
  type ConfigIssue,
  DispatchError,
  extensionConfigKeys,
  issuesFrom,
  timerDelayMs,
  validateExtensionConfigs,
} from "@dispatch/kernel";
import { z } from "zod";
import type { ServeFlags } from "./cli.ts";

/** Config errors, each naming its JSON path; the binary prints them one per line and exits 2. */
export class ConfigError extends DispatchError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super("invalid_config", issues.map((i) => `${i.path}: ${i.message}`).join("\n"), {
      details: { issues },
    });
    this.name = "ConfigError";
    this.issues = issues;
  }
}

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be an extension id (a lowercase slug)");

/** The top-level keys the host itself owns; every other key belongs to an extension. */
export const hostConfigSchema = z.object({
  dataDir: z.string().min(1).optional(),
  extensions: z
    .object({
      /** Installed but not activated; their hard dependents are skipped. */
      disabled: z.array(slug).default([]),
      /** Third-party extension modules, relative to the config file. */
      paths: z.array(z.string().min(1)).default([]),
    })
    .strict()
    .default({ disabled: [], paths: [] }),
  guards: z
    .object({
      /** Faults (uncaught errors, rejections, extension faults) tolerated within the window. */
      faultBudget: z.number().int().min(1).default(20),
      faultWindowMs: z.number().int().min(1000).default(60_000),
      /**
       * Time each extension gets to stop. Above the orchestrator's default `shutdownDeadlineMs` (10 s), so
       * turns are interrupted and recorded before the store under them is closed.
       */
      shutdownTimeoutMs: timerDelayMs(100).default(15_000),
    })
    .strict()
    .default({ faultBudget: 20, faultWindowMs: 60_000, shutdownTimeoutMs: 15_000 }),
});

/** The host-owned part of the config, parsed. */
export type HostConfig = z.output<typeof hostConfigSchema>;
const hostKeys = new Set(Object.keys(hostConfigSchema.shape));

/** Used when there is no config file: every extension runs on its schema defaults. */
export const embeddedDefaultConfig: Readonly<Record<string, unknown>> = Object.freeze({});

/** A config read from disk (or the embedded default) with the environment and flags applied. */
export interface LoadedConfig {
  /** The file's absolute path, or "embedded default". */
  source: string;
  /** Where relative paths in the file are resolved from. */
  baseDir: string;
  host: HostConfig;
  /** The whole config; each extension's slice sits under its key. */
  raw: Record<string, unknown>;
  /** The absolute data directory. */
  dataDir: string;
}

/** Where a config comes from and what may override it. */
export interface ConfigInputs {
  flags: ServeFlags;
  env: Record<string, string | undefined>;
  cwd: string;
}

/**
 * Reads the config file (`--config`, else `DISPATCH_CONFIG`, else the embedded default), applies the
 * environment and flags (flags win), and validates the host-owned keys. Extension slices are checked
 * later by `checkExtensionConfig`, once third-party extensions are loaded.
 */
export function loadConfig({ flags, env, cwd }: ConfigInputs): LoadedConfig {
  const file = flags.config ?? nonEmpty(env.DISPATCH_CONFIG);
  const path = file === undefined ? undefined : resolve(cwd, file);
  const raw = path === undefined ? structuredClone({ ...embeddedDefaultConfig }) : readJsonObject(path);
  const baseDir = path === undefined ? cwd : dirname(path);

  const parsed = hostConfigSchema.safeParse(raw);
  if (!parsed.success) {
    // the top level is not strict: unknown keys there are judged once every extension's key is known
    throw new ConfigError(issuesFrom("", parsed.error));
  }
  applyServerOverrides(raw, flags, env);

  const dataDirFlag = flags.dataDir ?? nonEmpty(env.DISPATCH_DATA_DIR);
  const dataDir =
    dataDirFlag !== undefined
      ? resolve(cwd, dataDirFlag)
      : parsed.data.dataDir !== undefined
        ? resolve(baseDir, parsed.data.dataDir)
        : resolve(cwd, ".dispatch");
  return { source: path ?? "embedded default", baseDir, host: parsed.data, raw, dataDir };
}

/** Every top-level key must belong to the host or to an installed extension; every slice must validate. */
export function checkExtensionConfig(config: LoadedConfig, extensions: readonly AnyExtension[]): void {
  const claimed = extensionConfigKeys(extensions);
  const issues: ConfigIssue[] = Object.keys(config.raw)
    .filter((key) => !hostKeys.has(key) && !claimed.has(key))
    .map((key) => ({ path: key, message: "unknown key" }));

  const ids = new Set(extensions.map((e) => e.manifest.id));
  config.host.extensions.disabled.forEach((id, i) => {
    if (!ids.has(id)) {
      issues.push({
        path: `extensions.disabled[${i}]`,
        message: `no installed extension "${id}" (installed: ${[...ids].sort().join(", ")})`,
      });
    }
  });

  // slices whose schema is built from contributions (provider kinds) are left to the kernel's check
  const slices = validateExtensionConfigs(extensions, config.raw);
  if (!slices.ok) issues.push(...slices.issues);
  if (issues.length > 0) throw new ConfigError(issues);
}

function readJsonObject(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const reason = (error as { code?: string }).code === "ENOENT" ? "file not found" : String(error);
    throw new ConfigError([{ path: "(file)", message: `cannot read ${path}: ${reason}` }]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError([{ path: "(file)", message: `${path} is not valid JSON: ${reason}` }]);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError([{ path: "(root)", message: "expected a JSON object" }]);
  }
  return value as Record<string, unknown>;
}

/** `--host`, `--port` and `DISPATCH_TOKEN` land in the transport's `server` slice, which then validates them. */
function applyServerOverrides(
  raw: Record<string, unknown>,
  flags: ServeFlags,
  env: Record<string, string | undefined>,
): void {
  const overrides: Record<string, unknown> = {};
  const token = nonEmpty(env.DISPATCH_TOKEN);
  if (token !== undefined) overrides.token = token;
  if (flags.host !== undefined) overrides.host = flags.host;
  if (flags.port !== undefined) overrides.port = flags.port;
  if (Object.keys(overrides).length === 0) return;
  const server = raw.server;
  // a malformed `server` value is left alone so its own validation error is reported
  if (server === undefined) raw.server = overrides;
  else if (typeof server === "object" && server !== null && !Array.isArray(server))
    raw.server = { ...server, ...overrides };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
