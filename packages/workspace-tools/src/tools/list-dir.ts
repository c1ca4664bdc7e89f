import type { ToolDefinition } from "@dispatch/session-orchestrator";
import { z } from "zod";
import type { EntryKind } from "../backend.ts";
import {
  openWorkspace,
  pathSubject,
  resolvePath,
  type ToolDeps,
  toolError,
  workspaceTool,
} from "../tool-kit.ts";

/** Entries `list_dir` shows at most. */
export const listDirMaxEntries = 2000;

const input = z
  .object({
    path: z.string().optional().describe('Directory, relative to the workspace root (default ".", the root)'),
  })
  .strict();

const suffix: Record<EntryKind, string> = { directory: "/", symlink: "@", file: "", other: "" };

/** `list_dir`: a directory's entries, sorted, directories marked with `/` and symlinks with `@`. */
export function listDirTool(deps: ToolDeps): ToolDefinition<z.output<typeof input>> {
  return workspaceTool(deps.config.maxOutputBytes, {
    name: "list_dir",
    description:
      "List a directory in the workspace: one entry per line, sorted; directories end with `/`, symbolic links with `@`.",
    input,
    subject: ({ path }, context) => pathSubject(path, context),
    async run({ path = "." }, context) {
      const workspace = await openWorkspace(deps, context, false);
      const target = await resolvePath(workspace, path);
      const info = await workspace.backend.stat(target);
      if (info === undefined) {
        return toolError(
          target.relative === ""
            ? `the workspace root ${workspace.root} does not exist yet (write_file or bash creates it)`
            : `${target.display}: no such directory`,
        );
      }
      if (info.kind !== "directory") return toolError(`${target.display} is not a directory`);
      const entries = await workspace.backend.readdir(target);
      if (entries.length === 0) return { output: `(${target.display} is empty)` };
      const names = entries
        .map((entry) => entry.name + suffix[entry.kind])
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const shown = names.slice(0, listDirMaxEntries);
      const more = names.length - shown.length;
      return {
        output:
          shown.join("\n") +
          (more > 0 ? `\n[truncated: ${more} more entries of ${names.length} not shown]` : ""),
      };
    },
  });
}
