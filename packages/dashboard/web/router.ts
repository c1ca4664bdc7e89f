import { useEffect, useState } from "preact/hooks";

/** A page of the dashboard, from the URL's hash (`#/conversations/abc`). */
export type Route =
  | { view: "workspaces" }
  | { view: "workspace"; id: string }
  | { view: "conversation"; id: string }
  | { view: "providers" }
  | { view: "host" }
  | { view: "activity" }
  | { view: "tasks" }
  | { view: "agents" };

/** Reads a hash such as `#/workspaces/docs`; anything unknown is the workspaces list. */
export function parseRoute(hash: string): Route {
  const [first, second] = hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (first === "workspaces" && second) return { view: "workspace", id: second };
  if (first === "conversations" && second) return { view: "conversation", id: second };
  if (
    first === "providers" ||
    first === "host" ||
    first === "activity" ||
    first === "tasks" ||
    first === "agents"
  ) {
    return { view: first };
  }
  return { view: "workspaces" };
}

/** The link to a route. */
export function href(route: Route): string {
  switch (route.view) {
    case "workspace":
      return `#/workspaces/${encodeURIComponent(route.id)}`;
    case "conversation":
      return `#/conversations/${encodeURIComponent(route.id)}`;
    default:
      return `#/${route.view}`;
  }
}

/** The current route, following `hashchange`. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
