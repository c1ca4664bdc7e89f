import { api } from "../api/client.ts";
import { ErrorNote } from "../components/error-note.tsx";
import { StatusBadge } from "../components/status-badge.tsx";
import { markFirstRender } from "../first-render.ts";
import { useActivityReload, useLoad } from "../hooks.ts";
import { href } from "../router.ts";

/** The CLI agents (`GET /agents`, from the cli-agents extension): state, health, crashes. */
export function AgentsView() {
  const list = useLoad(() => api.agents.list(), [], 5000);
  useActivityReload((e) => e.type.startsWith("agent.") || e.type.startsWith("turn."), list.reload);
  const agents = list.value?.agents;
  if (agents !== undefined || list.error !== undefined) markFirstRender();
  return (
    <section aria-labelledby="view-title">
      <h1 id="view-title" tabIndex={-1}>
        CLI agents
      </h1>
      <ErrorNote error={list.error} />
      {agents !== undefined && agents.length === 0 && <p class="muted">No CLI agent session runs.</p>}
      {agents !== undefined && agents.length > 0 && (
        <ul class="rows" aria-label="CLI agent sessions">
          {agents.map((a) => (
            <li key={a.conversationId} class="row" data-agent={a.agentId}>
              <a class="row-main" href={href({ view: "conversation", id: a.conversationId })}>
                {a.agentId} in {a.workspaceId}
              </a>
              <StatusBadge status={a.state} />
              <StatusBadge status={a.health} />
              {a.attempts > 0 && <span class="muted">{a.attempts} crash(es) this turn</span>}
              {a.reason !== undefined && <span class="muted">{a.reason}</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
