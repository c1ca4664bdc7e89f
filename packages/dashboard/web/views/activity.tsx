import { markFirstRender } from "../first-render.ts";
import { clock } from "../format.ts";
import { useActivity } from "../hooks.ts";
import { href } from "../router.ts";

/** The host-wide activity feed, newest first, live. */
export function ActivityView() {
  const { entries, state } = useActivity();
  markFirstRender();
  return (
    <section aria-labelledby="view-title">
      <div class="title-row">
        <h1 id="view-title" tabIndex={-1}>
          Activity
        </h1>
        <span class={`stream stream-${state}`}>{state}</span>
      </div>
      {entries.length === 0 ? (
        <p class="muted">Nothing has happened yet.</p>
      ) : (
        <ol class="rows feed" aria-label="Activity, newest first">
          {entries.map((e) => (
            <li key={e.id} class="row" data-type={e.type}>
              <time class="muted" dateTime={e.at}>
                {clock(e.at)}
              </time>
              <span class="row-main">
                {e.conversationId !== null ? (
                  <a href={href({ view: "conversation", id: e.conversationId })}>{e.summary}</a>
                ) : (
                  e.summary
                )}
              </span>
              {e.workspaceId !== null && (
                <a class="chip" href={href({ view: "workspace", id: e.workspaceId })}>
                  {e.workspaceId}
                </a>
              )}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
