import { describe, expect, test } from "bun:test";
import { compileGlob, compileRules, decide, escapeGlob, ruleKeyFor } from "./permission-rules.ts";

const decideWith = (
  host: Record<string, "allow" | "ask" | "deny">,
  workspace: Record<string, "allow" | "ask" | "deny">,
) => {
  const rules = [...compileRules(host, "host"), ...compileRules(workspace, "workspace")];
  return (tool: string, subject?: string) => decide(rules, tool, subject);
};

describe("permission rules", () => {
  test("no rule: allowed; a tool rule applies to every call of that tool", () => {
    const of = decideWith({ bash: "ask" }, {});
    expect(of("read_file", "a.txt")).toEqual({ decision: "allow", rule: undefined });
    expect(of("bash", "ls").decision).toBe("ask");
  });

  test("the most specific rule wins: a glob over the tool, a longer glob over a shorter one, a tool over *", () => {
    const of = decideWith({ "*": "deny", bash: "ask", "bash:git *": "allow", "bash:git push*": "ask" }, {});
    expect(of("grep", "x").decision).toBe("deny");
    expect(of("bash", "ls").decision).toBe("ask");
    expect(of("bash", "git status").decision).toBe("allow");
    expect(of("bash", "git push origin main")).toMatchObject({
      decision: "ask",
      rule: { key: "bash:git push*" },
    });
  });

  test("a workspace rule beats the host's equally specific one, but not a more specific one", () => {
    const of = decideWith(
      { "bash:git push*": "ask", "write_file:*.env": "deny" },
      { bash: "allow", "bash:git push*": "allow" },
    );
    expect(of("bash", "git push").decision).toBe("allow");
    expect(decideWith({ "bash:git push*": "ask" }, { bash: "allow" })("bash", "git push").decision).toBe(
      "ask",
    );
    expect(of("write_file", "config/prod.env").decision).toBe("deny");
  });

  test("equally specific rules in one scope: the stricter decision wins", () => {
    const of = decideWith({ "bash:rm -?": "allow", "bash:rm ?f": "deny" }, {});
    // "rm -?" and "rm ?f" have four literal characters each.
    expect(of("bash", "rm -f").decision).toBe("deny");
    expect(of("bash", "rm -r").decision).toBe("allow");
  });

  test("globs: * spans slashes and spaces, ? is one character, a backslash escapes", () => {
    expect(compileGlob("*.env").pattern.test("deploy/prod.env")).toBe(true);
    expect(compileGlob("*.env").pattern.test("prod.env.bak")).toBe(false);
    expect(compileGlob("a?c").pattern.test("abc")).toBe(true);
    expect(compileGlob("a?c").pattern.test("ac")).toBe(false);
    expect(compileGlob("rm \\*").pattern.test("rm *")).toBe(true);
    expect(compileGlob("rm \\*").pattern.test("rm -rf /")).toBe(false);
    expect(compileGlob("(x)+[y]").pattern.test("(x)+[y]")).toBe(true);
  });

  test("a glob rule never matches a tool without a main argument", () => {
    expect(decideWith({ "custom:*": "deny" }, {})("custom").decision).toBe("allow");
  });

  test("remember's rule matches exactly the call it was made for", () => {
    const key = ruleKeyFor("bash", "echo * ? \\ done");
    expect(key).toBe(`bash:${escapeGlob("echo * ? \\ done")}`);
    const of = decideWith({ bash: "ask" }, { [key]: "allow" });
    expect(of("bash", "echo * ? \\ done").decision).toBe("allow");
    expect(of("bash", "echo a b \\ done").decision).toBe("ask");
    expect(ruleKeyFor("custom", undefined)).toBe("custom");
  });
});
