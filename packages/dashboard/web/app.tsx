import { useEffect, useRef, useState } from "preact/hooks";
import { api, whenUnauthorized } from "./api/client.ts";
import { useActivity } from "./hooks.ts";
import { activityFeed } from "./model/activity-feed.ts";
import { href, type Route, useRoute } from "./router.ts";
import { sessionStillValid, whenLoggedOut } from "./session.ts";
import { ActivityView } from "./views/activity.tsx";
import { AgentsView } from "./views/agents.tsx";
import { ConversationView } from "./views/conversation.tsx";
import { HostView } from "./views/host.tsx";
import { LoginView } from "./views/login.tsx";
import { ProvidersView } from "./views/providers.tsx";
import { TasksView } from "./views/tasks.tsx";
import { WorkspaceView } from "./views/workspace.tsx";
import { WorkspacesView } from "./views/workspaces.tsx";

type Auth =
  | { kind: "checking" }
  | { kind: "login"; expired: boolean }
  | { kind: "ready"; tokenRequired: boolean };

/**
 * The dashboard: asks `GET /auth/session` whether a login is needed (only with a token configured),
 * shows the login form until the session cookie is set, then the views. Any 401 later brings the
 * form back once.
 */
export function App() {
  const [auth, setAuth] = useState<Auth>({ kind: "checking" });
  const check = async () => {
    try {
      const state = await api.session.get();
      setAuth(
        state.authenticated
          ? { kind: "ready", tokenRequired: state.tokenRequired }
          : { kind: "login", expired: false },
      );
    } catch {
      setTimeout(check, 2000);
    }
  };
  useEffect(() => {
    const expired = () => setAuth((a) => (a.kind === "ready" ? { kind: "login", expired: true } : a));
    whenUnauthorized(expired);
    whenLoggedOut(expired);
    void check();
  }, []);
  const ready = auth.kind === "ready";
  useEffect(() => {
    if (!ready) return;
    void activityFeed.start(sessionStillValid).catch(() => {});
    return () => activityFeed.stop();
  }, [ready]);

  if (auth.kind === "checking") return <p class="boot">Loading Dispatch…</p>;
  if (auth.kind === "login") return <LoginView expired={auth.expired} onDone={() => void check()} />;
  return (
    <Shell
      tokenRequired={auth.tokenRequired}
      onLoggedOut={() => setAuth({ kind: "login", expired: false })}
    />
  );
}

const nav: Array<{ route: Route; label: string }> = [
  { route: { view: "workspaces" }, label: "Workspaces" },
  { route: { view: "providers" }, label: "Providers" },
  { route: { view: "tasks" }, label: "Tasks" },
  { route: { view: "activity" }, label: "Activity" },
  { route: { view: "host" }, label: "Host" },
];

function Shell(props: { tokenRequired: boolean; onLoggedOut: () => void }) {
  const route = useRoute();
  const { state } = useActivity();
  const [agents, setAgents] = useState(false);
  const first = useRef(true);
  useEffect(() => {
    api.agents.list().then(
      () => setAgents(true),
      () => setAgents(false),
    );
  }, []);
  // Moving to another view moves focus to its heading, so keyboard and screen-reader users land there.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    requestAnimationFrame(() => document.getElementById("view-title")?.focus());
  }, [route]);
  const logout = async () => {
    await api.session.logout().catch(() => {});
    props.onLoggedOut();
  };
  const items = agents ? [...nav, { route: { view: "agents" } as Route, label: "CLI agents" }] : nav;
  const current = route.view === "workspace" || route.view === "conversation" ? "workspaces" : route.view;
  return (
    <>
      <button type="button" class="skip" onClick={() => document.getElementById("view-title")?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <a class="brand" href={href({ view: "workspaces" })}>
          Dispatch
        </a>
        <nav aria-label="Main">
          <ul>
            {items.map((item) => (
              <li key={item.route.view}>
                <a href={href(item.route)} aria-current={current === item.route.view ? "page" : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class={`stream stream-${state}`} role="status" title="Live updates (the activity stream)">
          {state === "live" ? "live" : state}
        </span>
        {props.tokenRequired && (
          <button type="button" class="quiet" onClick={logout}>
            Log out
          </button>
        )}
      </header>
      <main id="main">{view(route)}</main>
    </>
  );
}

function view(route: Route) {
  switch (route.view) {
    case "workspaces":
      return <WorkspacesView />;
    case "workspace":
      return <WorkspaceView key={route.id} id={route.id} />;
    case "conversation":
      return <ConversationView key={route.id} id={route.id} />;
    case "providers":
      return <ProvidersView />;
    case "host":
      return <HostView />;
    case "activity":
      return <ActivityView />;
    case "tasks":
      return <TasksView />;
    case "agents":
      return <AgentsView />;
  }
}
