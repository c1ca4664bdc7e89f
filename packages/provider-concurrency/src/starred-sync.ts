import type { WorkspaceRepository } from "@dispatch/conversation-store";
import type { ExtensionBus, Logger } from "@dispatch/kernel";
import type { ConcurrencyManager } from "./types.ts";

/**
 * Keeps the manager's starred set equal to the store's: subscribes to the workspace events first,
 * then seeds from `starredIds()`. A workspace an event touched while the read was in flight keeps
 * the event's verdict (the read may predate it). A failing read logs a warning and starts empty:
 * stars only order the queue, so the host must not fail for them.
 */
export async function syncStarred(options: {
  manager: ConcurrencyManager;
  workspaces: Pick<WorkspaceRepository, "starredIds">;
  bus: ExtensionBus;
  logger: Logger;
}): Promise<void> {
  const { manager, workspaces, bus, logger } = options;
  let touchedWhileSeeding: Set<string> | undefined = new Set();
  const touch = (id: string) => touchedWhileSeeding?.add(id);
  bus.subscribe("workspace.starred", ({ workspace }) => {
    touch(workspace.id);
    manager.setStarred(workspace.id, true);
  });
  bus.subscribe("workspace.unstarred", ({ workspace }) => {
    touch(workspace.id);
    manager.setStarred(workspace.id, false);
  });
  bus.subscribe("workspace.deleted", ({ id }) => {
    touch(id);
    manager.forgetWorkspace(id);
  });
  let seed: string[] = [];
  try {
    seed = await workspaces.starredIds();
  } catch (error) {
    logger.warn("could not read starred workspaces from the store; starting with none starred", {
      err: error,
    });
  }
  const touched = touchedWhileSeeding;
  touchedWhileSeeding = undefined;
  for (const id of seed) if (!touched.has(id)) manager.setStarred(id, true);
}
