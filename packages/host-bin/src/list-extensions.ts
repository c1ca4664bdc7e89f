import { manifestSchema } from "@dispatch/kernel";
import type { ConfigFlags } from "./cli.ts";
import type { ConfigInputs } from "./config.ts";
import { prepare } from "./prepare.ts";

/** One row of `dispatch extensions`. */
export interface ExtensionRow {
  id: string;
  version: string;
  state: "installed" | "disabled";
  dependsOn: string[];
  optionalDependsOn: string[];
  /** Extensions whose extension points it contributes to. */
  extends: string[];
}

/**
 * The extensions in activation order, without starting anything: config and graph are checked
 * (throws ConfigError or StartupError), only the (pure) register phases run, no extension activates.
 */
export async function listExtensions(
  flags: ConfigFlags,
  io: Omit<ConfigInputs, "flags">,
): Promise<ExtensionRow[]> {
  const { config, extensions, host } = await prepare({ flags, ...io });
  const disabled = new Set(config.host.extensions.disabled);
  const byId = new Map(extensions.map((e) => [e.manifest.id, manifestSchema.parse(e.manifest)]));
  return host.order.map((id) => {
    const manifest = byId.get(id);
    return {
      id,
      version: manifest?.version ?? "?",
      state: disabled.has(id) ? "disabled" : "installed",
      dependsOn: manifest?.dependsOn ?? [],
      optionalDependsOn: manifest?.optionalDependsOn ?? [],
      extends: manifest?.extends ?? [],
    };
  });
}

/** Renders rows as an aligned table. */
export function formatExtensionTable(rows: readonly ExtensionRow[]): string {
  const cells = rows.map((r, i) => [
    String(i + 1),
    r.id,
    r.version,
    r.state,
    [...r.dependsOn, ...r.optionalDependsOn.map((d) => `${d}?`)].join(", ") || "-",
    r.extends.join(", ") || "-",
  ]);
  const header = ["#", "ID", "VERSION", "STATE", "DEPENDS ON (? = optional)", "EXTENDS"];
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => (row[c] as string).length)));
  const line = (row: string[]) =>
    row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c] as number))).join("  ");
  return `${[header, ...cells].map(line).join("\n")}\n`;
}
