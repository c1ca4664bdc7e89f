import { createExtensionPoint, DispatchError } from "@dispatch/kernel";
import type { Conversation, Workspace } from "@dispatch/wire";
import type { ConversationInfo } from "./turn-runner.ts";

/** Conversation options that an installed run scope implements (the orchestrator itself implements none). */
export interface ScopeOptions {
  /** Run the conversation's turns in a git worktree of its own. */
  worktree?: boolean;
  /** With `worktree`: what its branch starts from. */
  baseRef?: string;
}

/** The names of `ScopeOptions`, as a scope lists those it handles. */
export type ScopeOptionName = keyof ScopeOptions;

/** A turn about to be claimed, as a scope sees it. */
export interface ScopeTurnRequest {
  readonly conversation: ConversationInfo;
  /** The workspace as stored (its own root). */
  readonly workspace: Workspace;
  /** The user's message that starts the turn. */
  readonly text: string;
}

/** How a turn ended, as `ScopedTurn.finish` hears it. */
export interface ScopeTurnEnd {
  readonly turnId: string;
  readonly status: "completed" | "failed" | "cancelled" | "interrupted";
}

/**
 * A turn a scope took: it runs with `root` as its workspace root (the tools are confined there) and
 * `key` names that root for the tools' file locks and root pins, so two scopes of one workspace never
 * share a lock on a path they both have.
 */
export interface ScopedTurn {
  /** Unique among the scopes of one workspace; no `/`. */
  readonly key: string;
  /** Absolute, on the workspace's machine. */
  readonly root: string;
  /** The claim was refused after `enter` (the conversation was busy): undo what `enter` took. Must not throw. */
  abandon(): Promise<void>;
  /**
   * The runner returned (or was stopped); runs before the turn's final event, whose data gets what
   * this returns (for example the commit made). Must not throw; keep it short, the turn is still
   * active meanwhile.
   */
  finish(end: ScopeTurnEnd): Promise<Record<string, unknown> | undefined>;
}

/**
 * Puts some conversations' turns somewhere other than their workspace's root: a git worktree
 * (DESIGN §13). Contributed to `runScopesPoint`; every method may throw a DispatchError, which
 * reaches the caller of `createConversation` or `startTurn` as it is (`conflict` for a worktree
 * another run holds).
 */
export interface RunScope {
  /** Unique among scopes (the contributor's id will do). */
  readonly id: string;
  /** The creation options it implements; `createConversation` refuses one that no scope implements. */
  readonly handles: readonly ScopeOptionName[];
  /** Before a conversation asking for some of `handles` is stored: may refuse it (slow checks go here). */
  accept?(workspace: Workspace, options: ScopeOptions): Promise<void>;
  /**
   * Inside the creation's transaction, right after the conversation row: record it. Only store
   * writes here (the transaction holds the database); a throw rolls the conversation back.
   */
  created?(conversation: Conversation, options: ScopeOptions): Promise<void>;
  /**
   * Before every turn's claim: undefined when the conversation is none of this scope's business,
   * else where the turn runs. Called for every turn of every conversation, so the lookup must be
   * direct (by conversation id).
   */
  enter(request: ScopeTurnRequest): Promise<ScopedTurn | undefined>;
}

/** The extension point through which run scopes are added (git worktrees). */
export const runScopesPoint = createExtensionPoint<RunScope>({
  id: "session-orchestrator.scopes",
  keyOf: (scope) => scope.id,
});

/** The option names set in `options`. */
export function requestedScopeOptions(options: ScopeOptions): ScopeOptionName[] {
  const names: ScopeOptionName[] = [];
  if (options.worktree === true) names.push("worktree");
  if (options.baseRef !== undefined) names.push("baseRef");
  return names;
}

/** The scopes implementing the requested options; `invalid_request` for an option none implements. */
export function scopesFor(scopes: readonly RunScope[], options: ScopeOptions): RunScope[] {
  const requested = requestedScopeOptions(options);
  if (requested.length === 0) return [];
  for (const name of requested) {
    if (!scopes.some((scope) => scope.handles.includes(name))) {
      throw new DispatchError(
        "invalid_request",
        `${name}: no installed extension implements it (is git-workflows installed and enabled?)`,
        { details: { field: name } },
      );
    }
  }
  return scopes.filter((scope) => scope.handles.some((name) => requested.includes(name)));
}

/** Asks each scope whether it takes the conversation's next turn; the first that does wins. */
export async function enterScope(
  scopes: readonly RunScope[],
  conversation: ConversationInfo,
  text: string,
  workspaceOf: (id: string) => Promise<Workspace | undefined>,
): Promise<ScopedTurn | undefined> {
  if (scopes.length === 0) return undefined;
  const workspace = await workspaceOf(conversation.workspaceId);
  if (workspace === undefined) return undefined;
  for (const scope of scopes) {
    const scoped = await scope.enter({ conversation, workspace, text });
    if (scoped !== undefined) return scoped;
  }
  return undefined;
}

/**
 * Creates a conversation with its scope options (`worktree`, `baseRef`): each scope that handles
 * them accepts the workspace first, then sees the conversation created, in the creation's
 * transaction. Without such options it is a plain create. Errors: `invalid_request` (an option no
 * installed scope implements), `not_found` (workspace), and whatever a scope refuses with.
 */
export async function createInScopes<C extends Conversation>(
  installed: readonly RunScope[],
  options: ScopeOptions,
  deps: {
    workspaceId: string;
    workspaceOf: (id: string) => Promise<Workspace | undefined>;
    create: () => Promise<C>;
    transaction: <T>(fn: () => Promise<T>) => Promise<T>;
  },
): Promise<C> {
  const scopes = scopesFor(installed, options);
  if (scopes.length === 0) return deps.create();
  const workspace = await deps.workspaceOf(deps.workspaceId);
  if (workspace === undefined) {
    throw new DispatchError("not_found", `workspace "${deps.workspaceId}" does not exist`);
  }
  for (const scope of scopes) await scope.accept?.(workspace, options);
  return deps.transaction(async () => {
    const conversation = await deps.create();
    for (const scope of scopes) await scope.created?.(conversation, options);
    return conversation;
  });
}
