import type { Task } from "@dispatch/wire";
import { useState } from "preact/hooks";
import { api } from "../api/client.ts";
import { ErrorNote } from "../components/error-note.tsx";
import { markFirstRender } from "../first-render.ts";
import { useActivityReload, useLoad } from "../hooks.ts";
import { href } from "../router.ts";

const columns = ["queued", "running", "stuck", "failed", "completed", "cancelled"] as const;
const retryable = new Set(["failed", "stuck", "cancelled"]);
const cancellable = new Set(["queued", "running", "stuck"]);

/** The task board: the newest 200 tasks by status, with Retry and Cancel; a form to queue one. */
export function TasksView() {
  const list = useLoad(() => api.tasks.list({ limit: 200 }), []);
  useActivityReload((e) => e.type.startsWith("task."), list.reload);
  const [error, setError] = useState<string | undefined>(undefined);
  const act = async (run: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await run();
      await list.reload();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  const tasks = list.value?.tasks;
  if (tasks !== undefined) markFirstRender();
  return (
    <section aria-labelledby="view-title">
      <h1 id="view-title" tabIndex={-1}>
        Tasks
      </h1>
      <ErrorNote error={list.error ?? error} />
      {tasks === undefined ? (
        <p aria-busy="true">Loading…</p>
      ) : (
        <div class="board">
          {columns.map((status) => {
            const here = tasks.filter((t) => t.status === status);
            return (
              <section key={status} class="column" data-status={status} aria-labelledby={`col-${status}`}>
                <h2 id={`col-${status}`}>
                  {status} <span class="muted">({here.length})</span>
                </h2>
                <ul class="rows">
                  {here.map((t) => (
                    <TaskCard
                      key={t.id}
                      task={t}
                      onRetry={() => act(() => api.tasks.retry(t.id))}
                      onCancel={() => act(() => api.tasks.cancel(t.id))}
                    />
                  ))}
                </ul>
              </section>
            );
          })}
        </div>
      )}
      <NewTask onCreated={list.reload} />
    </section>
  );
}

function TaskCard(props: { task: Task; onRetry: () => void; onCancel: () => void }) {
  const { task } = props;
  return (
    <li class="card task" data-task={task.id}>
      <strong>{task.title}</strong>
      <span class="muted">
        <a href={href({ view: "workspace", id: task.workspaceId })}>{task.workspaceId}</a> · attempt{" "}
        {task.attempt} of {task.maxAttempts}
      </span>
      {task.conversationId !== null && (
        <a href={href({ view: "conversation", id: task.conversationId })}>latest attempt</a>
      )}
      {task.lastError !== null && <span class="error">{task.lastError}</span>}
      <span class="actions">
        {retryable.has(task.status) && (
          <button type="button" onClick={props.onRetry} aria-label={`Retry ${task.title}`}>
            Retry
          </button>
        )}
        {cancellable.has(task.status) && (
          <button type="button" class="danger" onClick={props.onCancel} aria-label={`Cancel ${task.title}`}>
            Cancel
          </button>
        )}
      </span>
    </li>
  );
}

function NewTask(props: { onCreated: () => Promise<void> }) {
  const workspaces = useLoad(() => api.workspaces.list(), []);
  const [workspaceId, setWorkspaceId] = useState("default");
  const [title, setTitle] = useState("");
  const [spec, setSpec] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    try {
      await api.tasks.create({ workspaceId, spec, ...(title.trim() === "" ? {} : { title: title.trim() }) });
      setSpec("");
      setTitle("");
      await props.onCreated();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <form class="card form" onSubmit={submit} aria-labelledby="new-task">
      <h2 id="new-task">New task</h2>
      <div class="field">
        <label for="task-workspace">Workspace</label>
        <select
          id="task-workspace"
          value={workspaceId}
          onChange={(e) => setWorkspaceId((e.currentTarget as HTMLSelectElement).value)}
        >
          {(workspaces.value?.workspaces ?? []).map((w) => (
            <option key={w.id} value={w.id}>
              {w.name}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="task-title">Title (optional)</label>
        <input
          id="task-title"
          value={title}
          onInput={(e) => setTitle((e.currentTarget as HTMLInputElement).value)}
        />
      </div>
      <div class="field">
        <label for="task-spec">What to do</label>
        <textarea
          id="task-spec"
          rows={3}
          required
          value={spec}
          onInput={(e) => setSpec((e.currentTarget as HTMLTextAreaElement).value)}
        />
      </div>
      <ErrorNote error={error} />
      <button type="submit" disabled={spec.trim() === ""}>
        Queue task
      </button>
    </form>
  );
}
