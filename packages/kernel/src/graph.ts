import type { StartupProblem } from "./errors.ts";
import type { ExtensionManifest } from "./manifest.ts";

/** What the graph check needs to know about one extension. */
export interface GraphNode {
  manifest: ExtensionManifest;
  /** Ids of the services it provides. */
  provides: readonly string[];
  /** Ids of the extension points it offers. */
  points?: readonly string[];
  /** Ids of the services it declares it will use. */
  consumes?: readonly string[];
}

/** The outcome of checking the graph: an activation order, or every problem found. */
export type GraphResult =
  | {
      ok: true;
      order: string[];
      providerOf: Map<string, string>;
      /** Extension point id → the extension that offers it. */
      ownerOf: Map<string, string>;
    }
  | { ok: false; problems: StartupProblem[] };

/**
 * Checks the whole extension graph before anything activates: duplicate ids, missing dependencies,
 * services and extension points with two owners, contributions to missing or disabled extensions,
 * used services whose provider is not a declared dependency, and cycles (through `dependsOn`,
 * `optionalDependsOn` and `extends` alike). Returns a topological order with ties broken by id.
 */
export function resolveGraph(
  nodes: readonly GraphNode[],
  disabled: ReadonlySet<string> = new Set(),
): GraphResult {
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
    const id = node.manifest.id;
    for (const dep of node.manifest.dependsOn) {
      if (!byId.has(dep)) {
        problems.push({
          extensionId: id,
          code: "missing_dependency",
          message: `extension "${id}" depends on "${dep}", which is not installed (installed: ${installed.join(", ")})`,
        });
      }
    }
    if (disabled.has(id)) continue;
    for (const owner of node.manifest.extends) {
      if (!byId.has(owner)) {
        problems.push({
          extensionId: id,
          code: "missing_owner",
          message: `extension "${id}" extends "${owner}", which is not installed (installed: ${installed.join(", ")})`,
        });
      } else if (disabled.has(owner)) {
        problems.push({
          extensionId: id,
          code: "disabled_owner",
          message: `extension "${id}" extends "${owner}", which is disabled in config: disable "${id}" too, or enable "${owner}"`,
        });
      }
    }
  }

  const providerOf = uniqueOwners(byId, (node) => node.provides, "duplicate_provider", "service", problems);
  const ownerOf = uniqueOwners(
    byId,
    (node) => node.points ?? [],
    "duplicate_point",
    "extension point",
    problems,
  );

  for (const node of byId.values()) {
    const { id, dependsOn, optionalDependsOn } = node.manifest;
    for (const service of node.consumes ?? []) {
      const provider = providerOf.get(service);
      if (provider === undefined || provider === id) continue;
      if (!dependsOn.includes(provider) && !optionalDependsOn.includes(provider)) {
        problems.push({
          extensionId: id,
          code: "undeclared_dependency",
          message: `extension "${id}" uses service "${service}" of extension "${provider}" without listing "${provider}" in dependsOn or optionalDependsOn`,
        });
      }
    }
  }

  const edges = (id: string): string[] => {
    const m = byId.get(id)?.manifest;
    if (!m) return [];
    return [...new Set([...m.dependsOn, ...m.optionalDependsOn, ...m.extends])]
      .filter((d) => byId.has(d))
      .sort();
  };

  const cycle = findCycle(installed, edges);
  if (cycle) {
    problems.push({
      extensionId: cycle[0] ?? "?",
      code: "dependency_cycle",
      message: `dependency cycle: ${formatCycle(cycle, byId)}`,
    });
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, order: topologicalOrder(installed, edges), providerOf, ownerOf };
}

/** Maps each named thing (service, point) to the one extension that owns it; two owners are a problem. */
function uniqueOwners(
  byId: ReadonlyMap<string, GraphNode>,
  owned: (node: GraphNode) => readonly string[],
  code: string,
  what: string,
  problems: StartupProblem[],
): Map<string, string> {
  const ownerOf = new Map<string, string>();
  for (const node of byId.values()) {
    for (const name of owned(node)) {
      const other = ownerOf.get(name);
      if (other !== undefined) {
        problems.push({
          extensionId: node.manifest.id,
          code,
          message: `${what} "${name}" is provided by both "${other}" and "${node.manifest.id}"`,
        });
      } else {
        ownerOf.set(name, node.manifest.id);
      }
    }
  }
  return ownerOf;
}

/** `a -> b -(extends)-> c -> a`: an edge that exists only through `extends` says so. */
function formatCycle(cycle: readonly string[], byId: ReadonlyMap<string, GraphNode>): string {
  let out = cycle[0] ?? "?";
  for (let i = 1; i < cycle.length; i++) {
    const from = byId.get(cycle[i - 1] as string)?.manifest;
    const to = cycle[i] as string;
    const onlyExtends =
      from?.extends.includes(to) && !from.dependsOn.includes(to) && !from.optionalDependsOn.includes(to);
    out += `${onlyExtends ? " -(extends)-> " : " -> "}${to}`;
  }
  return out;
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
