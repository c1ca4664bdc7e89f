import type { z } from "zod";
import type { AnyExtension } from "./manifest.ts";

/** One config error, with the JSON path of the offending value (for example `providers[0].maxConcurrent`). */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** Formats a zod issue path the way a user reads JSON: `a.b[2].c`. */
export function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out === "" ? "(root)" : out;
}

/** Turns a zod error into config issues under `prefix`. */
export function issuesFrom(prefix: string, error: z.ZodError): ConfigIssue[] {
  return error.issues.flatMap((issue) =>
    // zod reports unknown keys on their parent object; name each key's own path instead
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ path: formatPath(prefix, [...issue.path, key]), message: "unknown key" }))
      : [{ path: formatPath(prefix, issue.path), message: issue.message }],
  );
}

/** Validates each extension's slice of the raw config; returns the parsed slices or every issue found. */
export function validateExtensionConfigs(
  extensions: readonly AnyExtension[],
  raw: Record<string, unknown>,
): { ok: true; slices: Map<string, unknown> } | { ok: false; issues: ConfigIssue[] } {
  const slices = new Map<string, unknown>();
  const issues: ConfigIssue[] = [];
  for (const ext of extensions) {
    if (!ext.config) continue;
    const parsed = ext.config.schema.safeParse(raw[ext.config.key]);
    if (parsed.success) slices.set(ext.manifest.id, parsed.data);
    else issues.push(...issuesFrom(ext.config.key, parsed.error));
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, slices };
}

/** Config keys claimed by extensions, so the host can reject keys nobody owns. */
export function extensionConfigKeys(extensions: readonly AnyExtension[]): Set<string> {
  return new Set(extensions.flatMap((ext) => (ext.config ? [ext.config.key] : [])));
}
