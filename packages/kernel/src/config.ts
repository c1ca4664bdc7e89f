import type { z } from "zod";
import type { ContributionReader } from "./extension-point.ts";
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

/** True when the extension's config schema is built from contributions (validated after `register`). */
export function hasBuiltSchema(ext: AnyExtension): boolean {
  return typeof ext.config?.schema === "function";
}

/**
 * Validates each extension's slice of the raw config; returns the parsed slices or every issue found.
 * Without `readerOf` only fixed schemas are validated; with it, only the schemas built from
 * contributions (each gets the reader of its own extension points).
 */
export function validateExtensionConfigs(
  extensions: readonly AnyExtension[],
  raw: Record<string, unknown>,
  readerOf?: (extensionId: string) => ContributionReader,
): { ok: true; slices: Map<string, unknown> } | { ok: false; issues: ConfigIssue[] } {
  const slices = new Map<string, unknown>();
  const issues: ConfigIssue[] = [];
  for (const ext of extensions) {
    if (!ext.config || hasBuiltSchema(ext) !== (readerOf !== undefined)) continue;
    const spec = ext.config.schema;
    const schema =
      typeof spec === "function"
        ? spec((readerOf as (id: string) => ContributionReader)(ext.manifest.id))
        : spec;
    const parsed = schema.safeParse(raw[ext.config.key]);
    if (parsed.success) slices.set(ext.manifest.id, parsed.data);
    else issues.push(...issuesFrom(ext.config.key, parsed.error));
  }
  // Two extensions may read one slice with one schema (tool-approvals reads `tools`): say each issue once.
  const seen = new Set<string>();
  const unique = issues.filter((issue) => {
    const key = `${issue.path}\u0000${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.length > 0 ? { ok: false, issues: unique } : { ok: true, slices };
}

/** Config keys claimed by extensions, so the host can reject keys nobody owns. */
export function extensionConfigKeys(extensions: readonly AnyExtension[]): Set<string> {
  return new Set(extensions.flatMap((ext) => (ext.config ? [ext.config.key] : [])));
}
