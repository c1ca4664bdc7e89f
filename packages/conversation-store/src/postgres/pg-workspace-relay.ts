import type { Logger } from "@dispatch/kernel";
import type { BusPublisher } from "../store-database.ts";
import type { PgStoreDatabase } from "./pg-database.ts";
import { type Row, workspaceOf } from "./pg-rows.ts";
import { type WorkspaceNotice, workspaceChannel } from "./pg-workspace-repository.ts";

/**
 * Publishes on this host's bus the workspace changes made by other hosts on the same database, as
 * if they had been made here: `workspace.starred` from host A reorders host B's queues, an update
 * drops B's cached workspace. A notice names the change; the workspace is read when it arrives (so
 * it is at least that new). Notices are handled one after the other, in the order they came.
 */
export async function relayWorkspaceChanges(options: {
  db: PgStoreDatabase;
  instanceId: string;
  bus: BusPublisher;
  logger?: Logger;
}): Promise<() => Promise<void>> {
  const { db, instanceId, bus, logger } = options;
  let chain = Promise.resolve();
  const relay = async (notice: WorkspaceNotice) => {
    if (notice.event === "workspace.deleted") {
      bus.publish("workspace.deleted", { id: notice.id });
      return;
    }
    if (db.closed) return;
    const [row] = (await db.sql`select * from workspaces where id = ${notice.id}`) as Row[];
    // deleted since: its own notice follows
    if (row === undefined) return;
    bus.publish(notice.event, { workspace: workspaceOf(row) });
  };
  return db.listen(workspaceChannel, (payload) => {
    let notice: WorkspaceNotice;
    try {
      notice = JSON.parse(payload) as WorkspaceNotice;
    } catch {
      return;
    }
    if (notice.origin === instanceId) return;
    chain = chain
      .then(() => relay(notice))
      .catch((error: unknown) => {
        logger?.warn("could not relay another host's workspace change", { err: error, id: notice.id });
      });
  });
}
