import type { ToolDefinition } from "@dispatch/session-orchestrator";
import { z } from "zod";
import { capText } from "../output-cap.ts";
import {
  fileAccess,
  openWorkspace,
  pathSubject,
  resolvePath,
  type ToolDeps,
  toolError,
  workspaceTool,
} from "../tool-kit.ts";

/** Largest file prefix `read_file` loads; lines past it cannot be reached by `offset`. */
export const readFileMaxBytes = 16 * 1024 * 1024;
const defaultLimit = 2000;

const input = z
  .object({
    path: z.string().min(1).describe("File path, relative to the workspace root"),
    offset: z.number().int().min(1).optional().describe("First line to read, 1-based (default 1)"),
    limit: z.number().int().min(1).optional().describe(`Number of lines to read (default ${defaultLimit})`),
  })
  .strict();

/** True when the bytes look binary (a NUL in the first 8 KiB), as `grep` and `git` decide. */
export function looksBinary(data: Uint8Array): boolean {
  return data.subarray(0, 8192).includes(0);
}

/** `read_file`: a range of a text file's lines, with a note saying where to continue. */
export function readFileTool(deps: ToolDeps): ToolDefinition<z.output<typeof input>> {
  const budget = deps.config.maxOutputBytes - 200;
  return workspaceTool(deps.config.maxOutputBytes, {
    name: "read_file",
    description:
      "Read a text file in the workspace. Returns the lines from `offset` (1-based) for `limit` lines, " +
      "and says when more lines remain.",
    input,
    subject: ({ path }, context) => pathSubject(path, context),
    async run({ path, offset = 1, limit = defaultLimit }, context) {
      const workspace = await openWorkspace(deps, context, false);
      const target = await resolvePath(workspace, path);
      const info = await workspace.backend.stat(target);
      if (info === undefined) return toolError(`${target.display}: no such file`);
      if (info.kind === "directory") return toolError(`${target.display} is a directory; use list_dir`);
      // A FIFO or device could block or never end; only regular files are read.
      if (info.kind !== "file") return toolError(`${target.display} is not a regular file`);
      const { data, truncated } = await workspace.backend.readFile(
        target,
        readFileMaxBytes,
        fileAccess(deps, context),
      );
      if (looksBinary(data))
        return toolError(`${target.display} is a binary file (${info.size} bytes); not shown`);
      const text = new TextDecoder().decode(data);
      if (text === "") return { output: `(${target.display} is empty)` };
      const lines = text.endsWith("\n") ? text.slice(0, -1).split("\n") : text.split("\n");
      const total = lines.length;
      if (offset > total) {
        return toolError(`${target.display} has ${total} lines; offset ${offset} is past the end`);
      }
      const wanted = lines.slice(offset - 1, offset - 1 + limit);
      const shown: string[] = [];
      let used = 0;
      let cut = false;
      for (const line of wanted) {
        const size = Buffer.byteLength(line) + 1;
        if (used + size > budget) {
          // Show at least part of a huge first line rather than nothing.
          if (shown.length === 0) shown.push(capText(line, budget).text);
          cut = true;
          break;
        }
        shown.push(line);
        used += size;
      }
      const last = offset - 1 + shown.length;
      let output = shown.join("\n");
      if (cut && shown.length === 1 && Buffer.byteLength(wanted[0] ?? "") > budget) {
        const next = offset < total ? `; continue with offset=${offset + 1}` : "";
        output += `\n[truncated: line ${offset} is longer than ${budget} bytes${next}]`;
      } else if (cut) {
        output += `\n[truncated: showed lines ${offset}-${last} of ${total} (output limit); continue with offset=${last + 1}]`;
      } else if (last < total) {
        output += `\n[showed lines ${offset}-${last} of ${total}; continue with offset=${last + 1}]`;
      }
      if (truncated) {
        output += `\n[the file is ${info.size} bytes; only its first ${readFileMaxBytes} bytes can be read]`;
      }
      return { output };
    },
  });
}
