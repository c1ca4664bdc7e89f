/**
 * The live waiters of each workspace, across providers, so that starring a workspace finds its k
 * waiters in O(k) instead of scanning every queue. Empty sets are dropped, so memory is
 * O(live waiters). `add`, `delete` O(1).
 */
export class WorkspaceIndex<W> {
  readonly #byWorkspace = new Map<string, Set<W>>();

  add(workspaceId: string, waiter: W): void {
    let set = this.#byWorkspace.get(workspaceId);
    if (set === undefined) {
      set = new Set();
      this.#byWorkspace.set(workspaceId, set);
    }
    set.add(waiter);
  }

  delete(workspaceId: string, waiter: W): void {
    const set = this.#byWorkspace.get(workspaceId);
    if (set?.delete(waiter) && set.size === 0) this.#byWorkspace.delete(workspaceId);
  }

  /** The workspace's live waiters (do not mutate while iterating). */
  waiters(workspaceId: string): ReadonlySet<W> | undefined {
    return this.#byWorkspace.get(workspaceId);
  }
}
