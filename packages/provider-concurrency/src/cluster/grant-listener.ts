import type { ConversationStore } from "@dispatch/conversation-store";
import { type Grant, grantedChannel, parseGrants } from "./slot-table.ts";

/**
 * Listens for grants made by any host (NOTIFY on the grant channel); `onMissed` runs after a
 * reconnect, when grants may have been missed. Returns the function that stops listening.
 */
export async function listenForGrants(
  store: Pick<ConversationStore, "notifications">,
  onGrant: (grant: Grant) => void,
  onMissed: () => void,
): Promise<() => Promise<void>> {
  const notifications = store.notifications;
  if (notifications === undefined)
    throw new Error("the cluster-backed manager needs a store with notifications");
  return notifications.listen(
    grantedChannel,
    (payload) => {
      for (const grant of parseGrants(payload)) onGrant(grant);
    },
    onMissed,
  );
}
