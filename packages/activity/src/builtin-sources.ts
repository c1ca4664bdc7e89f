import type {} from "@dispatch/conversation-store";
import type {} from "@dispatch/session-orchestrator";
import type {} from "@dispatch/tasks";
import { type ActivitySource, defineActivitySource } from "./activity-sources.ts";

const agent = (data: Record<string, unknown>) =>
  typeof data.agentId === "string" ? `CLI agent ${data.agentId}` : "CLI agent";

/** Conversation event types that are activity: a turn's start and a CLI agent's crash and respawn. */
const conversationActivity: Record<string, (data: Record<string, unknown>) => string> = {
  "turn.started": () => "turn started",
  "agent.crashed": (data) => `${agent(data)} crashed`,
  "agent.respawned": (data) => `${agent(data)} respawned`,
};

/**
 * The feed's own mappings from the built-in extensions' bus events: turns started (a conversation
 * event) and finished, workspaces created, deleted, starred and unstarred, every task change, and the
 * CLI agents' `agent.crashed` and `agent.respawned` conversation events.
 */
export const builtinActivitySources: readonly ActivitySource[] = [
  defineActivitySource("conversation.event", ({ conversationId, event }) => {
    const summary = conversationActivity[event.type];
    if (summary === undefined) return undefined;
    return {
      type: event.type,
      summary: summary(event.data),
      conversationId,
      turnId: event.turnId,
      data: event.data,
    };
  }),
  defineActivitySource("turn.finished", ({ turnId, conversationId, workspaceId, status }) => ({
    type: "turn.finished",
    summary: `turn ${status}`,
    workspaceId,
    conversationId,
    turnId,
    data: { status },
  })),
  defineActivitySource("workspace.created", ({ workspace }) => ({
    type: "workspace.created",
    summary: `workspace "${workspace.name}" created`,
    workspaceId: workspace.id,
  })),
  defineActivitySource("workspace.deleted", ({ id }) => ({
    type: "workspace.deleted",
    summary: `workspace ${id} deleted`,
    workspaceId: id,
  })),
  defineActivitySource("workspace.starred", ({ workspace }) => ({
    type: "workspace.starred",
    summary: `workspace "${workspace.name}" starred`,
    workspaceId: workspace.id,
  })),
  defineActivitySource("workspace.unstarred", ({ workspace }) => ({
    type: "workspace.unstarred",
    summary: `workspace "${workspace.name}" unstarred`,
    workspaceId: workspace.id,
  })),
  defineActivitySource("task.changed", ({ id, change, task }) => ({
    type: `task.${change}`,
    summary: task === undefined ? `task ${id} ${change}` : `task "${task.title}" ${change}`,
    taskId: id,
    workspaceId: task?.workspaceId ?? null,
    conversationId: task?.conversationId ?? null,
    data:
      task === undefined
        ? { change }
        : {
            change,
            status: task.status,
            attempt: task.attempt,
            ...(task.lastError ? { error: task.lastError } : {}),
          },
  })),
];
