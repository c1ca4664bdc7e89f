import { posix } from "node:path";
import { DispatchError } from "@dispatch/kernel";
import type { ToolDefinition, ToolResult } from "@dispatch/session-orchestrator";
import { z } from "zod";
import type { ConfinedPath, FileAccess } from "../backend.ts";
import { childPath } from "../confine-path.ts";
import { globToRegExp } from "../glob-pattern.ts";
import { GrepMatcher } from "../grep-matcher.ts";
import type { GrepFile } from "../grep-protocol.ts";
import {
  fileAccess,
  openWorkspace,
  pathSubject,
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
async function* walk(
  workspace: ToolWorkspace,
  dir: ConfinedPath,
  limits: WalkLimits,
): AsyncGenerator<string> {
  const stack: string[] = [""];
  let dirs = 0;
  while (stack.length > 0 && !limits.signal.aborted && dirs < limits.maxFiles) {
    const rel = stack.pop() as string;
    dirs++;
    const path = rel === "" ? dir : childPath(dir, rel);
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

/** One grep call's search, once its target has been confined and found. */
interface Search {
  workspace: ToolWorkspace;
  target: ConfinedPath;
  kind: "file" | "directory";
  filter: ReturnType<typeof globToRegExp> | undefined;
  access: FileAccess;
  matcher: GrepMatcher;
  signal: AbortSignal;
  maxFiles: number;
  maxMatches: number;
}

/** Reads `files` (paths below the search's directory) with one backend call per directory they sit in. */
async function readByDirectory(
  s: Search,
  files: readonly string[],
): Promise<Array<{ data: Uint8Array; truncated: boolean } | undefined>> {
  const byDir = new Map<string, number[]>();
  files.forEach((file, i) => {
    const dir = posix.dirname(file);
    byDir.set(dir, [...(byDir.get(dir) ?? []), i]);
  });
  const contents: Array<{ data: Uint8Array; truncated: boolean } | undefined> = files.map(() => undefined);
  await Promise.all(
    [...byDir].map(async ([dir, indexes]) => {
      const path = dir === "." ? s.target : childPath(s.target, dir);
      const names = indexes.map((i) => posix.basename(files[i] as string));
      const read = await s.workspace.backend
        .readFiles(path, names, grepMaxFileBytes, s.access)
        .catch(() => names.map(() => undefined));
      indexes.forEach((fileIndex, k) => {
        contents[fileIndex] = read[k];
      });
    }),
  );
  return contents;
}

/** Walks and reads on this thread (I/O only) and hands each batch of files to the matcher's worker. */
async function search(s: Search): Promise<ToolResult> {
  const { target, kind, maxFiles, maxMatches } = s;
  const prefix = target.relative === "" ? "" : `${target.relative}/`;
  const matches: string[] = [];
  let scanned = 0;
  let filesCapped = false;
  let partial = 0;
  let matching: Promise<void> = Promise.resolve();
  const scan = async (files: string[]) => {
    // A file that vanished or cannot be read (or is refused) since the walk saw it is skipped, not fatal.
    const contents =
      kind === "file"
        ? [await s.workspace.backend.readFile(target, grepMaxFileBytes, s.access).catch(() => undefined)]
        : await readByDirectory(s, files);
    const batch: GrepFile[] = [];
    for (const [i, content] of contents.entries()) {
      if (content === undefined || looksBinary(content.data)) continue;
      const { data, truncated } = content;
      if (truncated) partial++;
      batch.push({ shown: kind === "directory" ? prefix + files[i] : target.display, data });
    }
    // The worker matches this batch while the next one is read: one match in flight at a time.
    await matching;
    if (batch.length === 0 || matches.length >= maxMatches) return;
    matching = s.matcher.match(batch, maxMatches - matches.length).then((found) => {
      matches.push(...found.slice(0, maxMatches - matches.length));
    });
    // Awaited later (its error thrown there); meanwhile a failure must not count as unhandled.
    matching.catch(() => {});
  };

  if (kind === "file") {
    scanned = 1;
    await scan([""]);
  } else {
    let batch: string[] = [];
    for await (const file of walk(s.workspace, target, { maxFiles, signal: s.signal })) {
      if (s.filter && !s.filter.regex.test(s.filter.matchesPath ? file : posix.basename(file))) continue;
      if (scanned >= maxFiles) {
        filesCapped = true;
        break;
      }
      scanned++;
      batch.push(file);
      if (batch.length >= readAhead) {
        await scan(batch);
        batch = [];
        if (matches.length >= maxMatches) break;
      }
    }
    if (matches.length < maxMatches) await scan(batch);
  }
  await matching;

  if (s.signal.aborted) return toolError("grep was cancelled");
  const notes: string[] = [];
  if (matches.length >= maxMatches)
    notes.push(`[truncated: stopped at ${maxMatches} matches; narrow the pattern or path]`);
  if (filesCapped)
    notes.push(`[truncated: stopped after scanning ${maxFiles} files; narrow the path or glob]`);
  if (partial > 0) {
    notes.push(
      `[${partial} files larger than ${grepMaxFileBytes} bytes were searched only in their first ${grepMaxFileBytes} bytes]`,
    );
  }
  if (matches.length === 0) return { output: [`no matches (scanned ${scanned} files)`, ...notes].join("\n") };
  return { output: [...matches, ...notes].join("\n") };
}

/**
 * `grep`: regex search over the workspace's text files, bounded in files read, matches returned and
 * matching time. The pattern runs in a worker (see `GrepMatcher`), so it can never block the host.
 */
export function grepTool(deps: ToolDeps): ToolDefinition<z.output<typeof input>> {
  const { grepMaxFiles, grepMaxMatches, grepTimeoutMs } = deps.config;
  return workspaceTool(deps.config.maxOutputBytes, {
    name: "grep",
    description:
      "Search file contents with a JavaScript regular expression. Prints `path:line: text` for each " +
      `matching line; skips binary files, .git and node_modules. Matching may take at most ${grepTimeoutMs} ms.`,
    input,
    subject: ({ path }, context) => pathSubject(path, context),
    async run({ pattern, path = ".", glob, ignoreCase = false }, context) {
      const flags = ignoreCase ? "i" : "";
      try {
        // Compiling is linear in the pattern's length; only matching can run away, and it runs in a worker.
        new RegExp(pattern, flags);
      } catch (error) {
        return toolError(`invalid regular expression: ${(error as Error).message}`);
      }
      const filter = glob === undefined ? undefined : globToRegExp(glob);
      const workspace = await openWorkspace(deps, context, false);
      const target = await resolvePath(workspace, path);
      const info = await workspace.backend.stat(target);
      if (info === undefined) return toolError(`${target.display}: no such file or directory`);
      if (info.kind !== "file" && info.kind !== "directory")
        return toolError(`${target.display} is neither a file nor a directory`);
      const matcher = new GrepMatcher({
        pattern,
        flags,
        maxLineChars,
        timeLimitMs: grepTimeoutMs,
        signal: context.signal,
      });
      try {
        return await search({
          workspace,
          target,
          kind: info.kind,
          filter,
          access: fileAccess(deps, context),
          matcher,
          signal: context.signal,
          maxFiles: grepMaxFiles,
          maxMatches: grepMaxMatches,
        });
      } catch (error) {
        if (DispatchError.isInstance(error) && error.code === "cancelled")
          return toolError("grep was cancelled");
        throw error;
      } finally {
        matcher.dispose();
      }
    },
  });
}
