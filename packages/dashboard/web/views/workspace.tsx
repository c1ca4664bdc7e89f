import { useState } from "preact/hooks";
import { api } from "../api/client.ts";
import { ErrorNote } from "../components/error-note.tsx";
import { StarButton } from "../components/star-button.tsx";
import { StatusBadge } from "../components/status-badge.tsx";
import { markFirstRender } from "../first-render.ts";
import { useActivityReload, useLoad } from "../hooks.ts";
import { href } from "../router.ts";

/** One workspace: its star, its conversations (newest first) and a button for a new one. */
export function WorkspaceView(props: { id: string }) {
  const workspace = useLoad(() => api.workspaces.get(props.id), [props.id]);
  const conversations = useLoad(() => api.conversations.list(props.id), [props.id]);
  useActivityReload(
    (e) => e.workspaceId === props.id,
    () => Promise.all([workspace.reload(), conversations.reload()]),
  );
  const [error, setError] = useState<string | undefined>(undefined);
  const start = async () => {
    try {
      const created = await api.conversations.create(props.id);
      location.hash = href({ view: "conversation", id: created.id });
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  const w = workspace.value;
  if (w !== undefined && conversations.value !== undefined) markFirstRender();
  return (
    <section aria-labelledby="view-title">
      <p class="crumbs">
        <a href={href({ view: "workspaces" })}>Workspaces</a> /
      </p>
      <div class="title-row">
        {w !== undefined && (
          <StarButton id={w.id} name={w.name} starred={w.starred} onChanged={workspace.reload} />
        )}
        <h1 id="view-title" tabIndex={-1}>
          {w?.name ?? props.id}
        </h1>
      </div>
      {w !== undefined && (
        <p class="muted">
          <code>{w.root}</code>
          {w.hostId !== null && <> on {w.hostId}</>}
        </p>
      )}
      <ErrorNote error={workspace.error ?? conversations.error ?? error} />
      <button type="button" onClick={start}>
        New conversation
      </button>
      <h2>Conversations</h2>
      {conversations.value === undefined ? (
        <p aria-busy="true">Loading…</p>
      ) : conversations.value.conversations.length === 0 ? (
        <p class="muted">None yet.</p>
      ) : (
        <ul class="rows" aria-label="Conversations, newest first">
          {conversations.value.conversations.map((c) => (
            <li key={c.id} class="row">
              <a class="row-main" href={href({ view: "conversation", id: c.id })}>
                {c.title ?? `Conversation ${c.id.slice(-6)}`}
              </a>
              <StatusBadge status={c.status} />
              <span class="muted">
                {c.provider}/{c.model}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
