import type { PermissionDecision, PermissionRules } from "@dispatch/wire";

/** Where a rule comes from: the host's `tools.permissions` or the workspace's own `permissions`. */
export type RuleScope = "host" | "workspace";

/** One rule, compiled. */
export interface PermissionRule {
  /** The rule as written (`bash:git push*`). */
  readonly key: string;
  readonly scope: RuleScope;
  readonly decision: PermissionDecision;
  /** The tool it names, or `*` for every tool. */
  readonly tool: string;
  /** The glob over the call's main argument, compiled; undefined: the rule names the tool alone. */
  readonly pattern: RegExp | undefined;
  /** Characters of the glob that are not wildcards: more of them is more specific. */
  readonly literal: number;
}

/** The rule that decided a call (undefined: no rule matched, so the call is allowed). */
export interface Verdict {
  decision: PermissionDecision;
  rule: PermissionRule | undefined;
}

/**
 * Compiles a glob over a whole argument: `*` matches any run of characters (slashes and spaces
 * included), `?` one character, a backslash makes the next character literal. Anchored at both ends.
 */
export function compileGlob(glob: string): { pattern: RegExp; literal: number } {
  let source = "";
  let literal = 0;
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] as string;
    if (char === "\\" && i + 1 < glob.length) {
      source += escapeRegExp(glob[++i] as string);
      literal++;
    } else if (char === "*") source += "[\\s\\S]*";
    else if (char === "?") source += "[\\s\\S]";
    else {
      source += escapeRegExp(char);
      literal++;
    }
  }
  return { pattern: new RegExp(`^${source}$`, "u"), literal };
}

function escapeRegExp(char: string): string {
  return char.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** Escapes `text` so that, as a glob, it matches exactly itself (for `remember`). */
export function escapeGlob(text: string): string {
  return text.replace(/[\\*?]/g, "\\$&");
}

/** The rule `remember` adds for a call: its tool and exactly its main argument, or the tool alone. */
export function ruleKeyFor(toolName: string, subject: string | undefined): string {
  return subject === undefined ? toolName : `${toolName}:${escapeGlob(subject)}`;
}

const compiled = new WeakMap<PermissionRules, PermissionRule[]>();

/** Compiles a rule map once per object (workspaces and the config are frozen or replaced, never edited). */
export function compileRules(rules: PermissionRules, scope: RuleScope): PermissionRule[] {
  let list = compiled.get(rules);
  if (list === undefined) {
    list = Object.entries(rules).map(([key, decision]) => {
      const colon = key.indexOf(":");
      const tool = colon < 0 ? key : key.slice(0, colon);
      if (colon < 0) return { key, scope, decision, tool, pattern: undefined, literal: 0 };
      const { pattern, literal } = compileGlob(key.slice(colon + 1));
      return { key, scope, decision, tool, pattern, literal };
    });
    compiled.set(rules, list);
  }
  return list;
}

const strictness: Record<PermissionDecision, number> = { allow: 0, ask: 1, deny: 2 };

/**
 * Orders two matching rules, most specific first: a named tool over `*`; a glob over none; more
 * literal characters in the glob; the workspace's rule over the host's; and, all else equal, the
 * stricter decision (deny, then ask, then allow), so a tie never opens a door.
 */
function moreSpecific(a: PermissionRule, b: PermissionRule): number {
  return (
    Number(b.tool !== "*") - Number(a.tool !== "*") ||
    Number(b.pattern !== undefined) - Number(a.pattern !== undefined) ||
    b.literal - a.literal ||
    Number(b.scope === "workspace") - Number(a.scope === "workspace") ||
    strictness[b.decision] - strictness[a.decision]
  );
}

/** Decides a call by the most specific matching rule; a call no rule matches is allowed. */
export function decide(
  rules: readonly PermissionRule[],
  toolName: string,
  subject: string | undefined,
): Verdict {
  let best: PermissionRule | undefined;
  for (const rule of rules) {
    if (rule.tool !== "*" && rule.tool !== toolName) continue;
    if (rule.pattern !== undefined && (subject === undefined || !rule.pattern.test(subject))) continue;
    if (best === undefined || moreSpecific(rule, best) < 0) best = rule;
  }
  return { decision: best?.decision ?? "allow", rule: best };
}
