import { posix } from "node:path";
import type { LockRepository } from "@dispatch/conversation-store";
import { DispatchError, messageOf } from "@dispatch/kernel";
import type { ToolContext, ToolDefinition, ToolResult } from "@dispatch/session-orchestrator";
import type { z } from "zod";
import type { ExecutionBackend, ExecutionBackends, FileAccess, FileId } from "./backend.ts";
import type { ToolsConfig } from "./config.ts";
import { type ConfinedPath, confinePath } from "./confine-path.ts";
import { capResult } from "./output-cap.ts";
import type { RootPins } from "./root-pins.ts";
import type { ToolSandbox } from "./sandbox/sandboxes.ts";
import type { TurnFiles } from "./turn-files.ts";

/** What every workspace tool is built from. */
export interface ToolDeps {
  backends: ExecutionBackends;
  locks: LockRepository;
  config: ToolsConfig;
  /** Each workspace root's pinned identity. */
  pins: RootPins;
  /** The files each turn's tools created (the hard-link rule). */
  turnFiles: TurnFiles;
  /** Where `bash` runs: in the host's sandbox, or unconfined. */
  sandbox: ToolSandbox;
}

/** A workspace as a tool sees it: where it runs and its root there. */
export interface ToolWorkspace {
  backend: ExecutionBackend;
  root: string;
  /** The root's pinned identity (undefined: not pinned, e.g. a remote host). */
  rootId: FileId | undefined;
}

/**
 * Picks the backend for the context's workspace and checks its root is still the pinned directory
 * (`workspace_root_changed` otherwise); with `create`, makes a root that was never pinned first.
 * A scoped run (a git worktree) pins its own root under the scope's key, beside the workspace's.
 */
export async function openWorkspace(
  deps: ToolDeps,
  context: ToolContext,
  create: boolean,
): Promise<ToolWorkspace> {
  const { workspace, scope } = context;
  const backend = deps.backends.forHost(workspace.hostId);
  const pinned = scope === undefined ? workspace : { ...workspace, id: `${workspace.id}/${scope.key}` };
  const rootId = await deps.pins.open(pinned, backend, create);
  return { backend, root: workspace.root, rootId };
}

/**
 * The lock key of a confined path: its path relative to the root, or in a scoped run `/<key>/` and
 * that path (no relative path starts with `/`), so two worktrees of a workspace lock apart.
 */
export function lockPath(context: ToolContext, path: ConfinedPath): string {
  return context.scope === undefined ? path.relative : `/${context.scope.key}/${path.relative}`;
}

/** Confines `path` to the workspace (see `confinePath`). */
export function resolvePath(workspace: ToolWorkspace, path: string): Promise<ConfinedPath> {
  return confinePath(workspace.backend, workspace.root, path, workspace.rootId);
}

/** What this turn's reads and writes may go through: the files its tools created (hard-link rule). */
export function fileAccess(deps: ToolDeps, context: ToolContext): FileAccess {
  return { created: deps.turnFiles.of(context.turnId) };
}

/**
 * Takes the turn's lock on a file; a lock held by another conversation becomes a `locked` error
 * that names it.
 */
export async function lockFile(deps: ToolDeps, context: ToolContext, path: ConfinedPath): Promise<void> {
  // A cancelled turn may already have had its locks released: taking one now would outlive the turn.
  if (context.signal.aborted) throw cancelled(path);
  const result = await deps.locks.acquire({
    workspaceId: context.workspace.id,
    path: lockPath(context, path),
    conversationId: context.conversationId,
    turnId: context.turnId,
    ttlMs: deps.config.lockTtlMs,
  });
  if (!result.ok) {
    throw new DispatchError(
      "locked",
      `"${path.display}" is locked by conversation ${result.holder.conversationId} (turn ${result.holder.turnId}); ` +
        "the lock is released when that turn ends. Work on other files or try again later.",
      { details: { path: path.relative, holder: result.holder } },
    );
  }
  if (context.signal.aborted) {
    // Cancelled while acquiring: the turn is over, so dropping all of its locks is right.
    await deps.locks.releaseTurn(context.turnId);
    throw cancelled(path);
  }
}

function cancelled(path: ConfinedPath): DispatchError {
  return new DispatchError("cancelled", `the turn was cancelled; ${path.display} was not changed`);
}

/**
 * A file tool's main argument for permission rules: its path as written, NFC, with `.`, `..` and
 * trailing slashes folded and an absolute path inside the root made relative (`./a/.env/` is
 * `a/.env`), so a rule such as `write_file:*.env` is not dodged by spelling. Symlinks are not
 * followed: rules match the name the model used.
 */
export function pathSubject(path: string | undefined, context: ToolContext): string {
  let normal = posix.normalize((path ?? ".").normalize("NFC"));
  if (normal.startsWith("/")) {
    const relative = posix.relative(posix.normalize(context.workspace.root), normal);
    if (relative === "") normal = ".";
    else if (!relative.startsWith("../") && relative !== "..") normal = relative;
  }
  return normal.length > 1 ? normal.replace(/\/+$/, "") : normal;
}

/** A tool error for the model (not a crash). */
export function toolError(message: string): ToolResult {
  return { output: message, isError: true };
}

/**
 * Builds a tool whose thrown errors become error results and whose output is capped at
 * `maxOutputBytes` with the cut stated.
 */
export function workspaceTool<I>(
  maxOutputBytes: number,
  definition: {
    name: string;
    description: string;
    input: z.ZodType<I>;
    run(input: I, context: ToolContext): Promise<ToolResult>;
    /** The call's main argument for permission rules (see `ToolDefinition.subject`). */
    subject?(input: I, context: ToolContext): string | undefined;
  },
): ToolDefinition<I> {
  return {
    name: definition.name,
    description: definition.description,
    input: definition.input,
    ...(definition.subject === undefined ? {} : { subject: definition.subject }),
    async run(input, context) {
      if (context.signal.aborted) return toolError(`${definition.name} was cancelled before it started`);
      try {
        const result = await definition.run(input, context);
        return { ...result, output: capResult(result.output, maxOutputBytes) };
      } catch (error) {
        if (!DispatchError.isInstance(error)) {
          context.logger.warn("tool failed", { tool: definition.name, error });
        }
        return toolError(capResult(messageOf(error), maxOutputBytes));
      }
    },
  };
}
