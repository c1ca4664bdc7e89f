import { posix } from "node:path";
import type { ToolDefinition } from "@dispatch/session-orchestrator";
import { z } from "zod";
import { globToRegExp } from "../glob-pattern.ts";
import {
  openWorkspace,
  resolvePath,
  type ToolDeps,
  type ToolWorkspace,
  toolError,
  workspaceTool,
} from "../tool-kit.ts";
import { looksBinary } from "./read-file.ts";

/** Directories `grep` never enters. */
const skippedDirs = new Set([".git", "node_modules"]);
/** Largest file prefix `grep` reads; with `readAhead` it bounds the memory of one search (64 MiB). */
export const grepMaxFileBytes = 4 * 1024 * 1024;
/** Longest line text shown per match. */
const maxLineChars = 300;
/** Files read at once: overlaps I/O (and a remote backend's round trips); 16 halved a local search's time against 8. */
const readAhead = 16;

const input = z
  .object({
    pattern: z.string().min(1).describe("JavaScript regular expression, matched against each line"),
    path: z
      .string()
      .optional()
      .describe('Directory or file to search, relative to the workspace root (default ".")'),
    glob: z.string().optional().describe('Only files whose name matches, e.g. "*.ts" or "*.{js,ts}"'),
    ignoreCase: z.boolean().optional().describe("Case-insensitive match (default false)"),
  })
  .strict();

interface WalkLimits {
  maxFiles: number;
  signal: AbortSignal;
}

/**
 * Files under `dir` in sorted depth-first order, relative to `dir`. Symlinks are not followed (one
 * could lead out of the workspace); `.git` and `node_modules` are skipped. Visits at most
 * `maxFiles` directories as well, so a huge tree with few matching files still ends.
 */
async function* walk(workspace: ToolWorkspace, dir: string, limits: WalkLimits): AsyncGenerator<string> {
  const stack: string[] = [""];
  let dirs = 0;
  while (stack.length > 0 && !limits.signal.aborted && dirs < limits.maxFiles) {
    const rel = stack.pop() as string;
    dirs++;
    const path = rel === "" ? dir : posix.join(dir, rel);
    // An unreadable subdirectory is skipped; only the starting directory's failure is reported.
    const entries = await workspace.backend.readdir(path).catch((error: unknown) => {
      if (rel === "") throw error;
      return [];
    });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subdirs: string[] = [];
    for (const entry of entries) {
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.kind === "file") yield path;
      else if (entry.kind === "directory" && !skippedDirs.has(entry.name)) subdirs.push(path);
    }
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i] as string);
  }
}

/** `grep`: regex search over the workspace's text files, bounded in files read and matches returned. */
export function grepTool(deps: ToolDeps): ToolDefinition<z.output<typeof input>> {
  const { grepMaxFiles, grepMaxMatches } = deps.config;
  return workspaceTool(deps.config.maxOutputBytes, {
    name: "grep",
    description:
      "Search file contents with a JavaScript regular expression. Prints `path:line: text` for each " +
      "matching line; skips binary files, .git and node_modules.",
    input,
    async run({ pattern, path = ".", glob, ignoreCase = false }, context) {
      let regex: RegExp;
      try {
        regex = new RegExp(pattern, ignoreCase ? "i" : "");
      } catch (error) {
        return toolError(`invalid regular expression: ${(error as Error).message}`);
      }
      const filter = glob === undefined ? undefined : globToRegExp(glob);
      const workspace = await openWorkspace(deps, context, false);
      const target = await resolvePath(workspace, path);
      const info = await workspace.backend.stat(target.absolute);
      if (info === undefined) return toolError(`${target.display}: no such file or directory`);
      const prefix = target.relative === "" ? "" : `${target.relative}/`;

      const matches: string[] = [];
      let scanned = 0;
      let filesCapped = false;
      let partial = 0;
      const scan = async (files: string[]) => {
        const contents = await Promise.all(
          files.map((file) =>
            workspace.backend
              .readFile(
                info.kind === "directory" ? posix.join(target.absolute, file) : target.absolute,
                grepMaxFileBytes,
              )
              // A file that vanished or cannot be read since the walk saw it is skipped, not fatal.
              .catch(() => ({ data: new Uint8Array(0), truncated: false })),
          ),
        );
        for (const [i, { data, truncated }] of contents.entries()) {
          if (matches.length >= grepMaxMatches || looksBinary(data)) continue;
          if (truncated) partial++;
          const shown = info.kind === "directory" ? prefix + files[i] : target.display;
          const lines = new TextDecoder().decode(data).split("\n");
          for (const [n, line] of lines.entries()) {
            if (!regex.test(line)) continue;
            const text = line.length > maxLineChars ? `${line.slice(0, maxLineChars)}…` : line;
            matches.push(`${shown}:${n + 1}: ${text}`);
            if (matches.length >= grepMaxMatches) break;
          }
        }
      };

      if (info.kind === "file") {
        scanned = 1;
        await scan([""]);
      } else if (info.kind === "directory") {
        let batch: string[] = [];
        for await (const file of walk(workspace, target.absolute, {
          maxFiles: grepMaxFiles,
          signal: context.signal,
        })) {
          if (filter && !filter.regex.test(filter.matchesPath ? file : posix.basename(file))) continue;
          if (scanned >= grepMaxFiles) {
            filesCapped = true;
            break;
          }
          scanned++;
          batch.push(file);
          if (batch.length >= readAhead) {
            await scan(batch);
            batch = [];
            if (matches.length >= grepMaxMatches) break;
          }
        }
        if (matches.length < grepMaxMatches) await scan(batch);
      } else return toolError(`${target.display} is neither a file nor a directory`);

      if (context.signal.aborted) return toolError("grep was cancelled");
      const notes: string[] = [];
      if (matches.length >= grepMaxMatches)
        notes.push(`[truncated: stopped at ${grepMaxMatches} matches; narrow the pattern or path]`);
      if (filesCapped)
        notes.push(`[truncated: stopped after scanning ${grepMaxFiles} files; narrow the path or glob]`);
      if (partial > 0) {
        notes.push(
          `[${partial} files larger than ${grepMaxFileBytes} bytes were searched only in their first ${grepMaxFileBytes} bytes]`,
        );
      }
      if (matches.length === 0)
        return { output: [`no matches (scanned ${scanned} files)`, ...notes].join("\n") };
      return { output: [...matches, ...notes].join("\n") };
    },
  });
}
