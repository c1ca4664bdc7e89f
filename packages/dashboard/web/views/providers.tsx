import { api } from "../api/client.ts";
import { ErrorNote } from "../components/error-note.tsx";
import { StarButton } from "../components/star-button.tsx";
import { StatusBadge } from "../components/status-badge.tsx";
import { markFirstRender } from "../first-render.ts";
import { clock, duration } from "../format.ts";
import { useActivityReload, useLoad } from "../hooks.ts";
import { href } from "../router.ts";

/**
 * Each provider's slots in use and its live queue in grant order (starred workspaces first), with
 * how long each waiter has waited; read every second while shown, and at once when a star or a turn
 * changes. A waiter's star toggle moves it (and its workspace's other waiters) at once.
 */
export function ProvidersView() {
  const list = useLoad(() => api.providers.list(), [], 1000);
  useActivityReload((e) => e.type.startsWith("workspace.") || e.type.startsWith("turn."), list.reload);
  const providers = list.value?.providers;
  if (providers !== undefined) markFirstRender();
  return (
    <section aria-labelledby="view-title">
      <h1 id="view-title" tabIndex={-1}>
        Providers
      </h1>
      <ErrorNote error={list.error} />
      {providers === undefined ? (
        <p aria-busy="true">Loading…</p>
      ) : (
        <div class="cards">
          {providers.map((p) => (
            <section key={p.id} class="card" data-provider={p.id} aria-labelledby={`provider-${p.id}`}>
              <h2 id={`provider-${p.id}`}>
                {p.id} <small class="muted">{p.kind}</small> <StatusBadge status={p.status} />
              </h2>
              {p.status === "cooling" && p.coolingUntil !== undefined && (
                <p>Paused by the provider until {clock(p.coolingUntil)}.</p>
              )}
              {p.reason !== undefined && <p class="muted">{p.reason}</p>}
              <p>
                <label for={`slots-${p.id}`}>Slots in use</label>{" "}
                <meter id={`slots-${p.id}`} min={0} max={p.maxConcurrent} value={p.inFlight} />{" "}
                <span data-slots>
                  {p.inFlight} of {p.maxConcurrent}
                </span>
              </p>
              <h3>
                Queue <span class="muted">({p.queue.length} waiting)</span>
              </h3>
              {p.queue.length === 0 ? (
                <p class="muted">No turn waits.</p>
              ) : (
                <ol class="rows queue" aria-label={`Queue of ${p.id}, in grant order`}>
                  {p.queue.map((w, i) => (
                    <li key={w.turnId ?? `${w.workspaceId}-${i}`} class="row" data-workspace={w.workspaceId}>
                      <span class="pos">
                        <span class="visually-hidden">Position </span>
                        {i + 1}
                      </span>
                      <StarButton
                        id={w.workspaceId}
                        name={w.workspaceId}
                        starred={w.starred}
                        onChanged={list.reload}
                      />
                      {w.conversationId === null ? (
                        <span class="row-main">{w.workspaceId}</span>
                      ) : (
                        <a class="row-main" href={href({ view: "conversation", id: w.conversationId })}>
                          {w.workspaceId}
                        </a>
                      )}
                      <span class="muted">waiting {duration(w.waitingMs)}</span>
                    </li>
                  ))}
                </ol>
              )}
            </section>
          ))}
        </div>
      )}
    </section>
  );
}
