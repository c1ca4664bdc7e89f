import { createServiceRef } from "@dispatch/kernel";
import type { ActivityEntry } from "@dispatch/wire";

/** What a source hands over for one entry; the log adds `id`, `at` and `source`. */
export interface ActivityInput {
  /** What happened, dotted like bus events: `turn.started`, `workspace.starred`, `agent.crashed`. */
  type: string;
  /** One line for people, without the workspace (the dashboard shows that beside it). */
  summary: string;
  workspaceId?: string | null;
  conversationId?: string | null;
  turnId?: string | null;
  taskId?: string | null;
  data?: Record<string, unknown>;
}

/** Called with each new entry, in id order; must not throw (an error is logged and counted). */
export type ActivityListener = (entry: ActivityEntry) => void;

/** The service the `activity` extension provides. */
export interface ActivityService {
  /**
   * Adds an entry recorded by `source` (an extension id). An entry naming a conversation but no
   * workspace gets the conversation's workspace filled in. Entries keep the order of `record` calls.
   */
  record(source: string, input: ActivityInput): void;
  /** The newest `limit` entries (default and at most 100), newest first, as copies. */
  latest(limit?: number): ActivityEntry[];
}

/** The service ref of the activity feed. */
export const activityRef = createServiceRef<ActivityService>("activity");
