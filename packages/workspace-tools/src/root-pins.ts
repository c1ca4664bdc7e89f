import type { ExecutionBackend, FileId } from "./backend.ts";
import { rootChanged } from "./beneath-root.ts";

/** A workspace as far as pinning cares. */
export interface PinnedWorkspace {
  id: string;
  root: string;
  hostId: string | null;
}

interface Pin {
  root: string;
  hostId: string | null;
  id: FileId;
}

/**
 * The identity (device and inode) of each workspace's root, taken when the workspace is loaded or
 * created (or first used), so that a root moved aside and replaced, for example by a symlink to
 * somewhere else, is refused instead of being resolved afresh on every call. A root that does not
 * exist yet has no pin; it is pinned once the tools create it. Backends that cannot tell a
 * directory's identity (remote hosts) are not pinned.
 */
export class RootPins {
  readonly #pins = new Map<string, Pin>();

  /** Pins `workspace`'s root as it is now, replacing any earlier pin (a new or re-rooted workspace). */
  async pin(workspace: PinnedWorkspace, backend: ExecutionBackend): Promise<void> {
    const id = await backend.identify(workspace.root);
    if (id === undefined) this.#pins.delete(workspace.id);
    else this.#pins.set(workspace.id, { root: workspace.root, hostId: workspace.hostId, id });
  }

  /** Drops a deleted workspace's pin. */
  forget(workspaceId: string): void {
    this.#pins.delete(workspaceId);
  }

  /**
   * The root's pinned identity, after checking it still holds. A root without a pin (or whose
   * workspace record now names another root) is pinned now, after being created when `create` is
   * set. Throws `workspace_root_changed` when a pinned root is missing or another directory: a
   * missing one is not re-created, because its path may now be a dangling symlink to elsewhere.
   */
  async open(
    workspace: PinnedWorkspace,
    backend: ExecutionBackend,
    create: boolean,
  ): Promise<FileId | undefined> {
    const pin = this.#pins.get(workspace.id);
    if (pin !== undefined && pin.root === workspace.root && pin.hostId === workspace.hostId) {
      const now = await backend.identify(workspace.root);
      if (now === undefined || now.dev !== pin.id.dev || now.ino !== pin.id.ino) {
        throw rootChanged(workspace.root, pin.id, now);
      }
      return pin.id;
    }
    if (create) await backend.mkdirp(workspace.root);
    await this.pin(workspace, backend);
    return this.#pins.get(workspace.id)?.id;
  }
}
