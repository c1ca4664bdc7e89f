import { resolve } from "node:path";
import { hostsConfigSchema } from "@dispatch/ssh-pool";

/**
 * The files the sandbox must hide from `bash` because they hold the host's secrets: the config file
 * (a token may be written there) and each host's SSH key file. `~/` stays as written (the sandbox
 * expands it); a relative key path is resolved from the working directory, as ssh-pool reads it.
 */
export function secretFiles(raw: Record<string, unknown>, configFile: string | undefined): string[] {
  const files = new Set<string>();
  if (configFile !== undefined) files.add(configFile);
  const hosts = hostsConfigSchema.safeParse(raw.hosts);
  // A malformed slice is reported by its own validation.
  if (hosts.success) {
    for (const host of hosts.data) {
      const key = host.privateKeyPath;
      if (key !== undefined) files.add(key.startsWith("~/") ? key : resolve(key));
    }
  }
  return [...files].sort();
}

/** Adds `paths` to `tools.hiddenPaths`, keeping the configured (or default) ones. */
export function addToolHiddenPaths(
  raw: Record<string, unknown>,
  paths: readonly string[],
  defaults: readonly string[],
): void {
  const tools = raw.tools ?? {};
  if (typeof tools !== "object" || tools === null || Array.isArray(tools)) return;
  const slice = tools as Record<string, unknown>;
  const own = Array.isArray(slice.hiddenPaths) ? slice.hiddenPaths : defaults;
  raw.tools = { ...slice, hiddenPaths: [...new Set([...own, ...paths])] };
}
