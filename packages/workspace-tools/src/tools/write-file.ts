import type { ToolDefinition } from "@dispatch/session-orchestrator";
import { z } from "zod";
import {
  fileAccess,
  lockFile,
  openWorkspace,
  pathSubject,
  resolvePath,
  type ToolDeps,
  toolError,
  workspaceTool,
} from "../tool-kit.ts";

const input = z
  .object({
    path: z.string().min(1).describe("File path, relative to the workspace root"),
    content: z.string().describe("The whole new content of the file"),
  })
  .strict();

/** `write_file`: creates or replaces a file (and its missing parent directories) under the turn's lock. */
export function writeFileTool(deps: ToolDeps): ToolDefinition<z.output<typeof input>> {
  return workspaceTool(deps.config.maxOutputBytes, {
    name: "write_file",
    description:
      "Create or overwrite a file in the workspace with the given content; missing parent directories are created.",
    input,
    subject: ({ path }, context) => pathSubject(path, context),
    async run({ path, content }, context) {
      const workspace = await openWorkspace(deps, context, true);
      const target = await resolvePath(workspace, path);
      if (target.relative === "")
        return toolError("cannot write to the workspace root itself; give a file path");
      const existing = await workspace.backend.stat(target);
      if (existing?.kind === "directory") return toolError(`${target.display} is a directory`);
      if (existing !== undefined && existing.kind !== "file") {
        return toolError(`${target.display} exists and is not a regular file`);
      }
      await lockFile(deps, context, target);
      const data = new TextEncoder().encode(content);
      const { created } = await workspace.backend.writeFile(target, data, fileAccess(deps, context));
      if (created !== undefined) deps.turnFiles.add(context.turnId, created);
      const verb = existing === undefined ? "created" : "overwrote";
      return { output: `${verb} ${target.display} (${data.length} bytes)` };
    },
  });
}
