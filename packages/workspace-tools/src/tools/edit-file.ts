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
import { looksBinary, readFileMaxBytes } from "./read-file.ts";

const input = z
  .object({
    path: z.string().min(1).describe("File path, relative to the workspace root"),
    oldText: z.string().min(1).describe("Exact text to replace; must occur exactly once in the file"),
    newText: z.string().describe("Text to put in its place"),
  })
  .strict();

/** Start offsets of every occurrence of `needle`, overlapping ones included (both make a match ambiguous). */
export function occurrences(haystack: string, needle: string): number[] {
  const found: number[] = [];
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + 1)) found.push(at);
  return found;
}

/** 1-based line number of a string offset. */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) line++;
  return line;
}

/** `edit_file`: replaces one exact, unique occurrence of `oldText`, under the turn's lock. */
export function editFileTool(deps: ToolDeps): ToolDefinition<z.output<typeof input>> {
  return workspaceTool(deps.config.maxOutputBytes, {
    name: "edit_file",
    description:
      "Replace an exact piece of text in a file. `oldText` must occur exactly once (include surrounding " +
      "lines to make it unique); whitespace and line breaks must match exactly.",
    input,
    subject: ({ path }, context) => pathSubject(path, context),
    async run({ path, oldText, newText }, context) {
      const workspace = await openWorkspace(deps, context, false);
      const target = await resolvePath(workspace, path);
      const info = await workspace.backend.stat(target);
      if (info === undefined)
        return toolError(`${target.display}: no such file (use write_file to create it)`);
      if (info.kind !== "file") return toolError(`${target.display} is not a regular file`);
      await lockFile(deps, context, target);
      const access = fileAccess(deps, context);
      const { data, truncated } = await workspace.backend.readFile(target, readFileMaxBytes, access);
      if (truncated)
        return toolError(`${target.display} is larger than ${readFileMaxBytes} bytes; not edited`);
      if (looksBinary(data)) return toolError(`${target.display} is a binary file; not edited`);
      let text: string;
      try {
        // Fatal decoding: re-encoding a lossy decode would corrupt a file that is not UTF-8.
        text = new TextDecoder("utf-8", { fatal: true }).decode(data);
      } catch {
        return toolError(`${target.display} is not valid UTF-8; not edited`);
      }
      const found = occurrences(text, oldText);
      if (found.length === 0) {
        return toolError(`oldText was not found in ${target.display} (0 matches); it must match exactly`);
      }
      if (found.length > 1) {
        const lines = found.slice(0, 10).map((at) => lineAt(text, at));
        return toolError(
          `oldText occurs ${found.length} times in ${target.display} (at lines ${lines.join(", ")}${found.length > 10 ? ", …" : ""}); ` +
            "it must occur exactly once: include more surrounding text",
        );
      }
      const at = found[0] as number;
      // Slicing, not String.replace: `$&` and friends in newText must stay literal.
      const updated = text.slice(0, at) + newText + text.slice(at + oldText.length);
      await workspace.backend.writeFile(target, new TextEncoder().encode(updated), access);
      const first = lineAt(text, at);
      const span = newText.split("\n").length;
      return {
        output: `edited ${target.display}: replaced 1 occurrence at line ${first} (now lines ${first}-${first + span - 1})`,
      };
    },
  });
}
