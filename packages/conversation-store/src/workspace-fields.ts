import type { PermissionRules } from "@dispatch/wire";
import { PermissionRules as PermissionRulesSchema } from "@dispatch/wire";
import { invalidField } from "./store-error.ts";

// A workspace's sandbox fields (issue 20), checked and stored the same way by both dialects.

/**
 * The stored rules; a value that no longer parses (edited by hand) reads as no rules rather than
 * failing every read of the workspace list. The store only ever writes checked rules.
 */
export function parsePermissions(json: string): PermissionRules {
  try {
    const parsed = PermissionRulesSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

/** Checks permission rules with the wire schema; the message names the first bad rule. */
export function checkPermissions(value: unknown): string {
  const parsed = PermissionRulesSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length
      ? `permissions[${JSON.stringify(String(issue.path[0]))}]`
      : "permissions";
    throw invalidField(where, issue?.message ?? "invalid permission rules");
  }
  return JSON.stringify(parsed.data);
}

/** `network` as stored: true, false, or null to inherit the host's `tools.network`. */
export function checkNetwork(value: unknown): boolean | null {
  if (value === null || typeof value === "boolean") return value;
  throw invalidField("network", "must be true, false or null");
}
