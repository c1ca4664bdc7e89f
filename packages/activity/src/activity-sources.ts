import { createExtensionPoint, type DispatchEvents, type EventName } from "@dispatch/kernel";
import type { ActivityInput } from "./types.ts";

/**
 * A bus event that becomes activity: the activity extension subscribes to `event` and records what
 * `entry` returns (nothing for `undefined`). `entry` runs inside the publish, so it must be quick and
 * pure; a throw is logged, counted against the activity extension, and the event skipped.
 */
export interface ActivitySource {
  readonly event: EventName;
  entry(payload: DispatchEvents[EventName]): ActivityInput | undefined;
}

/**
 * Where extensions add to the activity feed (DESIGN §18): contribute `defineActivitySource(event,
 * entry)` in `register`, with `activity` in `manifest.extends`. Entries are recorded with the
 * contributor's id as their `source`. The feed's own mappings (turns, stars, workspaces, tasks,
 * CLI-agent crashes) are contributions of the activity extension itself.
 */
export const activitySourcesPoint = createExtensionPoint<ActivitySource>({ id: "activity.sources" });

/** Types `entry` by its event's payload (the one place the payload type is narrowed). */
export function defineActivitySource<K extends EventName>(
  event: K,
  entry: (payload: DispatchEvents[K]) => ActivityInput | undefined,
): ActivitySource {
  // Safe: the activity extension only ever calls `entry` with payloads of `event`.
  return { event, entry: entry as ActivitySource["entry"] };
}
