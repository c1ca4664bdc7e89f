import { useState } from "preact/hooks";
import { api } from "../api/client.ts";
import { ErrorNote } from "../components/error-note.tsx";
import { StarButton } from "../components/star-button.tsx";
import { markFirstRender } from "../first-render.ts";
import { useActivityReload, useLoad } from "../hooks.ts";
import { href } from "../router.ts";

/** The workspaces, starred first (the server's order), each with its star toggle; and a form for a new one. */
export function WorkspacesView() {
  const list = useLoad(() => api.workspaces.list(), []);
  useActivityReload((e) => e.type.startsWith("workspace."), list.reload);
  const workspaces = list.value?.workspaces;
  if (workspaces !== undefined) markFirstRender();
  return (
    <section aria-labelledby="view-title">
      <h1 id="view-title" tabIndex={-1}>
        Workspaces
      </h1>
      <p class="hint">
        Starred workspaces come first here, and their turns go first in every provider's queue.
      </p>
      <ErrorNote error={list.error} />
      {workspaces === undefined ? (
        <p aria-busy="true">Loading…</p>
      ) : (
        <ul class="rows" aria-label="Workspaces, starred first">
          {workspaces.map((w) => (
            <li key={w.id} class="row" data-workspace={w.id}>
              <StarButton id={w.id} name={w.name} starred={w.starred} onChanged={list.reload} />
              <a class="row-main" href={href({ view: "workspace", id: w.id })}>
                {w.name}
              </a>
              <code class="muted">{w.id}</code>
              {w.hostId !== null && <span class="muted">on {w.hostId}</span>}
            </li>
          ))}
        </ul>
      )}
      <NewWorkspace onCreated={list.reload} />
    </section>
  );
}

function NewWorkspace(props: { onCreated: () => Promise<void> }) {
  const [id, setId] = useState("");
  const [name, setName] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api.workspaces.create({ id, ...(name.trim() === "" ? {} : { name: name.trim() }) });
      setId("");
      setName("");
      await props.onCreated();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card form" onSubmit={submit} aria-labelledby="new-workspace">
      <h2 id="new-workspace">New workspace</h2>
      <div class="field">
        <label for="workspace-id">Id</label>
        <input
          id="workspace-id"
          required
          pattern="[a-z0-9][a-z0-9\-]{0,62}"
          autocomplete="off"
          spellcheck={false}
          value={id}
          onInput={(e) => setId((e.currentTarget as HTMLInputElement).value)}
          aria-describedby="workspace-id-hint"
        />
        <small id="workspace-id-hint">Lowercase letters, digits and dashes.</small>
      </div>
      <div class="field">
        <label for="workspace-name">Name (optional)</label>
        <input
          id="workspace-name"
          autocomplete="off"
          value={name}
          onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
        />
      </div>
      <ErrorNote error={error} />
      <button type="submit" disabled={busy || id === ""}>
        Create workspace
      </button>
    </form>
  );
}
