import type { Hono } from "hono";
import { TrieRouter } from "hono/router/trie-router";

/**
 * The methods the app's routes answer on a path, for 405's `Allow` header. Asked only when no route
 * matched, so a matched request pays nothing (Hono's `methodNotAllowed` middleware is one more async
 * layer on every request). The index is built on first use: routes are all mounted before the server
 * listens.
 */
export function allowedMethodsOf(app: Hono): (path: string) => string[] {
  let router: TrieRouter<string[]> | undefined;
  const build = () => {
    const methodsByPath = new Map<string, Set<string>>();
    for (const route of app.routes) {
      if (route.method === "ALL") continue;
      const methods = methodsByPath.get(route.path) ?? new Set<string>();
      methods.add(route.method);
      if (route.method === "GET") methods.add("HEAD");
      methodsByPath.set(route.path, methods);
    }
    const index = new TrieRouter<string[]>();
    for (const [path, methods] of methodsByPath) index.add("ALL", path, [...methods]);
    return index;
  };
  return (path) => {
    router ??= build();
    const allowed = new Set<string>();
    for (const [methods] of router.match("ALL", path)[0]) for (const method of methods) allowed.add(method);
    return [...allowed];
  };
}
