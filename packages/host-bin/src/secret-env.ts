import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { providerConfigSchema } from "@dispatch/providers";
import { isSecretEnvName } from "@dispatch/workspace-tools";

/** The variable that sets `server.token`. */
export const tokenEnvName = "DISPATCH_TOKEN";

/**
 * Every environment variable the config names as holding a secret: each provider's `apiKeyEnv`
 * (defaults included) and `DISPATCH_TOKEN`. (Host entries name a key file, not a variable; a key's
 * passphrase is not configurable, so there is none to add for them.)
 */
export function secretEnvNames(raw: Record<string, unknown>): string[] {
  const names = new Set([tokenEnvName]);
  const entries = Array.isArray(raw.providers) ? raw.providers : [];
  for (const entry of entries) {
    const name = apiKeyEnvOf(entry);
    if (name) names.add(name);
  }
  return [...names].sort();
}

/**
 * The variable one `providers[]` entry reads its key from. Entries are judged one at a time, because
 * the kinds extensions contribute are not known yet: a built-in kind's entry is parsed (so a default
 * such as ANTHROPIC_API_KEY counts); any other entry counts only the `apiKeyEnv` it spells out. A
 * malformed entry is reported by its own validation.
 */
function apiKeyEnvOf(entry: unknown): string | undefined {
  const parsed = providerConfigSchema.safeParse(entry);
  const value = parsed.success
    ? parsed.data.apiKeyEnv
    : typeof entry === "object" && entry !== null
      ? (entry as { apiKeyEnv?: unknown }).apiKeyEnv
      : undefined;
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * Adds `names` to `tools.secretEnvNames`, so the tools keep them out of every command's environment
 * whatever they are called. A malformed `tools` value is left for its own validation to report.
 */
export function addToolSecretNames(raw: Record<string, unknown>, names: readonly string[]): void {
  const tools = raw.tools ?? {};
  if (typeof tools !== "object" || tools === null || Array.isArray(tools)) return;
  const slice = tools as Record<string, unknown>;
  const own = Array.isArray(slice.secretEnvNames) ? slice.secretEnvNames : [];
  raw.tools = { ...slice, secretEnvNames: [...new Set([...own, ...names])] };
}

/** What `dropSecretsFromEnvironment` did. */
export interface DroppedSecrets {
  /** Deleted from `process.env`. */
  removed: string[];
  /** Entries blanked in the process's initial environment block (what `/proc/<pid>/environ` shows). */
  blanked: string[];
  /** Why the block could not be blanked, if it could not. */
  problem?: string;
}

/**
 * Drops secrets from the host's own environment once they have been read into memory, so that a
 * tool's process cannot read them back through `/proc/<host pid>/environ`. Deleting from
 * `process.env` does not change that file: it shows the environment block the process started
 * with, which neither libc nor Bun rewrite. So each secret entry in that block is also overwritten
 * with NUL bytes through `/proc/self/mem` (a process may write its own memory; the block is
 * ordinary writable stack). Blanked are the config-named variables and every name that looks
 * secret (`isSecretEnvName`), though only the config-named ones are deleted from `process.env`.
 * Linux only; elsewhere, or when the write is refused, `problem` says why. Synchronous, so nothing
 * else runs between start-up and the drop.
 */
export function dropSecretsFromEnvironment(
  names: readonly string[],
  env: Record<string, string | undefined> = process.env,
): DroppedSecrets {
  const removed = names.filter((name) => env[name] !== undefined);
  for (const name of removed) delete env[name];
  const named = new Set(names);
  try {
    const blanked = blankEnvironBlock((name) => named.has(name) || isSecretEnvName(name));
    return { removed, blanked };
  } catch (error) {
    return { removed, blanked: [], problem: error instanceof Error ? error.message : String(error) };
  }
}

/** Overwrites the entries of this process's initial environment block whose names `drop` picks. */
function blankEnvironBlock(drop: (name: string) => boolean): string[] {
  const stat = readFileSync("/proc/self/stat", "utf8");
  // Fields after the command name start at field 3; env_start and env_end are fields 50 and 51.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const start = Number(fields[47]);
  const end = Number(fields[48]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end <= start) {
    throw new Error("the environment block's address is not in /proc/self/stat");
  }
  const block = readFileSync("/proc/self/environ");
  const blanked: string[] = [];
  const mem = openSync("/proc/self/mem", "r+");
  try {
    let at = 0;
    while (at < block.length) {
      let stop = block.indexOf(0, at);
      if (stop === -1) stop = block.length;
      const entry = block.subarray(at, stop).toString("latin1");
      const name = entry.slice(0, Math.max(0, entry.indexOf("=")));
      if (name !== "" && drop(name)) {
        writeSync(mem, new Uint8Array(stop - at), 0, stop - at, start + at);
        blanked.push(name);
      }
      at = stop + 1;
    }
  } finally {
    closeSync(mem);
  }
  return blanked;
}
