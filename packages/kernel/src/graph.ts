import type { StartupProblem } from "./errors.ts";
import type { ExtensionManifest } from "./manifest.ts";

/** What the graph check needs to know about one extension. */
export interface GraphNode {
  manifest: ExtensionManifest;
  provides: readonly string[];
}

/** The outcome of checking the graph: an activation order, or every problem found. */
export type GraphResult =
  | { ok: true; order: string[]; providerOf: Map<string, string> }
  | { ok: false; problems: StartupProblem[] };

/**
 * Checks the whole extension graph before anything activates: duplicate ids, missing dependencies,
 * services with two providers, and cycles. Returns a topological order with ties broken by id.
 */
export function resolveGraph(nodes: readonly GraphNode[]): GraphResult {
  const problems: StartupProblem[] = [];
  const byId = new Map<string, GraphNode>();
  for (const node of nodes) {
    const id = node.manifest.id;
    if (byId.has(id)) {
      problems.push({
        extensionId: id,
        code: "duplicate_extension",
        message: `extension id "${id}" is installed twice`,
      });
    }
    byId.set(id, node);
  }
  const installed = [...byId.keys()].sort();

  for (const node of byId.values()) {
    for (const dep of node.manifest.dependsOn) {
      if (!byId.has(dep)) {
        problems.push({
          extensionId: node.manifest.id,
          code: "missing_dependency",
          message: `extension "${node.manifest.id}" depends on "${dep}", which is not installed (installed: ${installed.join(", ")})`,
        });
      }
    }
  }

  const providerOf = new Map<string, string>();
  for (const node of byId.values()) {
    for (const service of node.provides) {
      const other = providerOf.get(service);
      if (other !== undefined) {
        problems.push({
          extensionId: node.manifest.id,
          code: "duplicate_provider",
          message: `service "${service}" is provided by both "${other}" and "${node.manifest.id}"`,
        });
      } else {
        providerOf.set(service, node.manifest.id);
      }
    }
  }

  const edges = (id: string): string[] => {
    const m = byId.get(id)?.manifest;
    if (!m) return [];
    return [...m.dependsOn, ...m.optionalDependsOn].filter((d) => byId.has(d)).sort();
  };

  const cycle = findCycle(installed, edges);
  if (cycle) {
    problems.push({
      extensionId: cycle[0] ?? "?",
      code: "dependency_cycle",
      message: `dependency cycle: ${cycle.join(" -> ")}`,
    });
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, order: topologicalOrder(installed, edges), providerOf };
}

/** Depth-first search for one cycle; returns it as a closed path (`a, b, a`) or undefined. */
function findCycle(ids: readonly string[], edges: (id: string) => string[]): string[] | undefined {
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    state.set(id, "visiting");
    stack.push(id);
    for (const dep of edges(id)) {
      const s = state.get(dep);
      if (s === "visiting") return [...stack.slice(stack.indexOf(dep)), dep];
      if (s === undefined) {
        const found = visit(dep);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(id, "done");
    return undefined;
  };
  for (const id of ids) {
    if (state.get(id) === undefined) {
      const found = visit(id);
      if (found) return found;
    }
  }
  return undefined;
}

/** Kahn's algorithm; among ready extensions the smallest id goes first, so the order is deterministic. */
function topologicalOrder(ids: readonly string[], edges: (id: string) => string[]): string[] {
  const remaining = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const id of ids) {
    const deps = edges(id);
    remaining.set(id, deps.length);
    for (const dep of deps) dependents.set(dep, [...(dependents.get(dep) ?? []), id]);
  }
  const ready = ids.filter((id) => remaining.get(id) === 0);
  const order: string[] = [];
  while (ready.length > 0) {
    ready.sort();
    const id = ready.shift() as string;
    order.push(id);
    for (const next of dependents.get(id) ?? []) {
      const left = (remaining.get(next) ?? 0) - 1;
      remaining.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  return order;
}
