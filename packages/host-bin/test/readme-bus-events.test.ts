/**
 * The README's bus-event table lists exactly the events the packages declare: every
 * `declare module "@dispatch/kernel" { interface DispatchEvents { … } }` under packages/*\/src.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { repoRoot } from "../src/host-packages.ts";

/** Event name → the file that declares it, read with the TypeScript parser (no regex over code). */
function declaredEvents(): Map<string, string> {
  const events = new Map<string, string>();
  for (const path of new Bun.Glob("packages/*/src/**/*.ts").scanSync(repoRoot)) {
    if (path.endsWith(".test.ts")) continue;
    const text = readFileSync(join(repoRoot, path), "utf8");
    if (!text.includes("@dispatch/kernel")) continue;
    const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest);
    for (const statement of source.statements) {
      if (!ts.isModuleDeclaration(statement) || statement.name.text !== "@dispatch/kernel") continue;
      if (statement.body === undefined || !ts.isModuleBlock(statement.body)) continue;
      for (const inner of statement.body.statements) {
        if (!ts.isInterfaceDeclaration(inner) || inner.name.text !== "DispatchEvents") continue;
        for (const member of inner.members) {
          if (
            member.name !== undefined &&
            (ts.isStringLiteral(member.name) || ts.isIdentifier(member.name))
          ) {
            events.set(member.name.text, path);
          }
        }
      }
    }
  }
  return events;
}

/** Rows of the table under "### Bus events" in the README: event → [payload, fires]. */
function documentedEvents(): Map<string, string[]> {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const start = readme.indexOf("### Bus events");
  expect(start).toBeGreaterThan(readme.indexOf("## Writing an extension"));
  const section = readme.slice(start).split(/\n##/)[0] ?? "";
  const rows = new Map<string, string[]>();
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((cell) => cell.trim());
    const name = /^`([^`]+)`$/.exec(cells[1] ?? "")?.[1];
    if (name !== undefined) rows.set(name, cells.slice(2, 4));
  }
  return rows;
}

test("every declared bus event is in the README table, with its payload and when it fires", () => {
  const declared = declaredEvents();
  const documented = documentedEvents();
  // the store's and the orchestrator's events at least; a parser that found nothing would pass vacuously
  expect(declared.get("workspace.created")).toBe("packages/conversation-store/src/types.ts");
  expect(declared.get("turn.finished")).toBe("packages/session-orchestrator/src/types.ts");
  const missing = [...declared]
    .filter(([name]) => !documented.has(name))
    .map(([name, file]) => `${name} (${file})`);
  expect(missing).toEqual([]);
  const stale = [...documented.keys()].filter((name) => !declared.has(name));
  expect(stale).toEqual([]);
  for (const [name, [payload, fires]] of documented) {
    expect(payload, `${name} has no payload`).toMatch(/^`\{.*\}`$/);
    expect(fires?.length ?? 0, `${name} does not say when it fires`).toBeGreaterThan(10);
  }
});
