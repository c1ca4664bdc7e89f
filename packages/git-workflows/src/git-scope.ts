import { DispatchError, messageOf } from "@dispatch/kernel";
import type { RunScope, ScopedTurn } from "@dispatch/session-orchestrator";
import { commitMessage, type GitRuntime } from "./runtime.ts";
import { heldError } from "./worktree-store.ts";
import { Worktrees } from "./worktrees.ts";

/** The branch of a run. */
export function branchOf(id: string): string {
  return `dispatch/${id}`;
}

/**
 * The orchestrator's run scope for git worktrees: a conversation created with `worktree: true`
 * gets its own worktree, and every turn of a conversation bound to a worktree (its own, or its
 * task's) runs there under the worktree's hold and commits what it changed when it completes.
 */
export function createGitScope(runtime: () => GitRuntime): RunScope {
  return {
    id: "git-workflows",
    handles: ["worktree", "baseRef"],
    async accept(workspace, options) {
      const { worktrees } = runtime();
      await worktrees.repoOf(workspace);
      if (options.baseRef !== undefined) await worktrees.checkBase(workspace, options.baseRef);
      // resolves (and caches) the host's worktree directory now, so `created` does no I/O
      await worktrees.pathFor(workspace, "-");
    },
    async created(conversation, options) {
      const { store, worktrees } = runtime();
      // `accept` ran for this workspace just before, so this is a cached lookup
      const workspace = await runtime().workspaceOf(conversation.workspaceId);
      if (workspace === undefined) {
        throw new DispatchError("not_found", `workspace "${conversation.workspaceId}" does not exist`);
      }
      await store.insert({
        id: conversation.id,
        workspaceId: conversation.workspaceId,
        kind: "conversation",
        title: conversation.title,
        path: await worktrees.pathFor(workspace, conversation.id),
        branch: branchOf(conversation.id),
        baseRef: options.baseRef ?? "HEAD",
        prefix: "",
      });
      await store.bind(conversation.id, conversation.id, null);
    },
    async enter({ conversation, workspace, text }): Promise<ScopedTurn | undefined> {
      const rt = runtime();
      const binding = await rt.store.bindingOf(conversation.id);
      if (binding === undefined) return undefined;
      const found = await rt.store.get(binding.worktreeId);
      if (found === undefined) return undefined;
      const taken = await rt.store.acquire(found.id, {
        kind: "conversation",
        id: conversation.id,
        attempt: null,
        conversationId: conversation.id,
        admitsTurn: false,
      });
      // Without a hold of its own the turn may only run as the one its task's attempt admits.
      const token = taken.ok ? taken.token : undefined;
      if (!taken.ok && !(await rt.store.admitTurn(found.id, conversation.id))) {
        if (taken.row.holderKind === "conversation" && taken.row.holderConversationId === conversation.id) {
          throw new DispatchError(
            "conversation_busy",
            `conversation ${conversation.id} already has a turn running in its worktree`,
          );
        }
        throw heldError(taken.row);
      }
      const release = async () => {
        if (token !== undefined) await rt.store.release(found.id, token);
      };
      let row: Awaited<ReturnType<Worktrees["ensure"]>>;
      try {
        row = await rt.worktrees.ensure(found, workspace);
      } catch (error) {
        await release();
        throw error;
      }
      return {
        key: `wt-${row.id}-${row.generation}`,
        root: Worktrees.runRoot(row),
        abandon: () =>
          release().catch((error: unknown) => rt.logger.error("releasing a worktree failed", { err: error })),
        async finish({ turnId, status }) {
          try {
            if (status !== "completed") return undefined;
            const message = commitMessage({
              title: row.title,
              text,
              turnId,
              conversationId: conversation.id,
              ...(binding.attempt === null ? {} : { task: { id: row.id, attempt: binding.attempt } }),
            });
            const commit = await rt.worktrees.commit(row, workspace, message);
            if (commit !== undefined) {
              rt.observe.commit();
              const commits = await rt.worktrees.commitsOf(row, workspace);
              await rt.store.update(row.id, { commits: JSON.stringify(commits) });
              // a task pushes once its attempt is filed (after validation); a conversation after each commit
              if (row.kind === "conversation") await rt.pusher.schedule(row.id);
            }
            return { git: { branch: row.branch, commit: commit?.sha ?? null } };
          } catch (error) {
            rt.logger.error("committing a turn's changes failed", { worktree: row.id, turnId, err: error });
            return { git: { branch: row.branch, commit: null, error: messageOf(error) } };
          } finally {
            await release().catch((error: unknown) =>
              rt.logger.error("releasing a worktree failed", { worktree: row.id, err: error }),
            );
          }
        },
      };
    },
  };
}
