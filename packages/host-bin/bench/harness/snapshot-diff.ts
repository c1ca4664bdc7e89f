/**
 * Where did the heap grow? Compares two V8-format heap snapshots (as written by `soak.ts --snapshots`)
 * by object name, and prints, for the names that grew most, the containers holding the new objects
 * and one retaining path from a GC root.
 *
 *   bun packages/host-bin/bench/harness/snapshot-diff.ts <before.heapsnapshot> <after.heapsnapshot> [top]
 */
import { readFileSync } from "node:fs";

interface Snapshot {
  snapshot: {
    meta: { node_fields: string[]; edge_fields: string[]; node_types: [string[]]; edge_types: [string[]] };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** A parsed snapshot with reverse edges for retainer lookups. */
export class HeapGraph {
  readonly nodeCount: number;
  readonly #s: Snapshot;
  readonly #nf: number;
  readonly #ef: number;
  readonly #firstEdge: Uint32Array;
  #retainers: Array<number[]> | undefined;

  constructor(snapshot: Snapshot) {
    this.#s = snapshot;
    this.#nf = snapshot.snapshot.meta.node_fields.length;
    this.#ef = snapshot.snapshot.meta.edge_fields.length;
    this.nodeCount = snapshot.nodes.length / this.#nf;
    this.#firstEdge = new Uint32Array(this.nodeCount + 1);
    for (let i = 0, e = 0; i < this.nodeCount; i += 1) {
      this.#firstEdge[i] = e;
      e += this.edgeCount(i);
      this.#firstEdge[i + 1] = e;
    }
  }

  /** Node type (`object`, `string`, `closure`, …). */
  type(i: number): string {
    return this.#s.snapshot.meta.node_types[0][this.#s.nodes[i * this.#nf] as number] as string;
  }
  /** Constructor or class name (or the string's text for strings). */
  name(i: number): string {
    return this.#s.strings[this.#s.nodes[i * this.#nf + 1] as number] as string;
  }
  /** The stable object id, the same for one object in two snapshots of one process. */
  id(i: number): number {
    return this.#s.nodes[i * this.#nf + 2] as number;
  }
  selfSize(i: number): number {
    return this.#s.nodes[i * this.#nf + 3] as number;
  }
  edgeCount(i: number): number {
    return this.#s.nodes[i * this.#nf + 4] as number;
  }
  /** Outgoing edges: [edge type, edge name, target node]. */
  *edgesOf(i: number): Generator<[string, string, number]> {
    const { edges, strings, snapshot } = this.#s;
    for (let e = this.#firstEdge[i] as number; e < (this.#firstEdge[i + 1] as number); e += 1) {
      const type = snapshot.meta.edge_types[0][edges[e * this.#ef] as number] as string;
      const nameOrIndex = edges[e * this.#ef + 1] as number;
      const name =
        type === "element" || type === "hidden" ? `[${nameOrIndex}]` : (strings[nameOrIndex] as string);
      yield [type, name, (edges[e * this.#ef + 2] as number) / this.#nf];
    }
  }
  /** Nodes pointing at `i` (weak edges left out). */
  retainersOf(i: number): number[] {
    if (!this.#retainers) {
      const r: Array<number[]> = Array.from({ length: this.nodeCount }, () => []);
      for (let n = 0; n < this.nodeCount; n += 1) {
        for (const [type, , to] of this.edgesOf(n)) if (type !== "weak") r[to]?.push(n);
      }
      this.#retainers = r;
    }
    return this.#retainers[i] ?? [];
  }
  /** Short label of a node. */
  label(i: number): string {
    const type = this.type(i);
    const name = this.name(i);
    return type === "string" ? `string ${JSON.stringify(name.slice(0, 60))}` : `${type} ${name.slice(0, 80)}`;
  }
  /** A shortest retaining path from a root (node 0) to `target`, breadth-first over retainers. */
  pathToRoot(target: number, maxDepth = 30): string[] {
    const previous = new Map<number, number>([[target, -1]]);
    let frontier = [target];
    for (let depth = 0; depth < maxDepth && frontier.length > 0; depth += 1) {
      const next: number[] = [];
      for (const node of frontier) {
        if (node === 0) {
          const path: string[] = [];
          for (let n = node; n !== -1; n = previous.get(n) as number) path.push(this.label(n));
          return path;
        }
        for (const r of this.retainersOf(node)) {
          if (previous.has(r)) continue;
          previous.set(r, node);
          next.push(r);
        }
      }
      frontier = next;
    }
    return ["(no path to a root within depth)"];
  }
}

/** Reads a snapshot file. */
export function loadHeapGraph(file: string): HeapGraph {
  return new HeapGraph(JSON.parse(readFileSync(file, "utf8")) as Snapshot);
}

/** Groups nodes as "(string)" or "<type> <name>". */
function groupOf(g: HeapGraph, i: number): string {
  const type = g.type(i);
  if (type === "string" || type === "concatenated string" || type === "sliced string") return "(string)";
  return `${type} ${g.name(i).slice(0, 60)}`;
}

/** Live count and self size per group. */
function countByGroup(g: HeapGraph): Map<string, { count: number; bytes: number }> {
  const out = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < g.nodeCount; i += 1) {
    const key = groupOf(g, i);
    const row = out.get(key) ?? { count: 0, bytes: 0 };
    row.count += 1;
    row.bytes += g.selfSize(i);
    out.set(key, row);
  }
  return out;
}

/** For nodes of the given groups: "<group> <- <retainer group>.<edge>" counts, and a few holders of each. */
function retainedBy(
  g: HeapGraph,
  groups: ReadonlySet<string>,
): Map<string, { count: number; holders: Map<number, number> }> {
  const out = new Map<string, { count: number; holders: Map<number, number> }>();
  for (let i = 0; i < g.nodeCount; i += 1) {
    const group = groupOf(g, i);
    if (!groups.has(group)) continue;
    const holder = g.retainersOf(i)[0];
    if (holder === undefined) continue;
    let edge = "?";
    for (const [type, name, to] of g.edgesOf(holder)) {
      if (to === i) {
        edge = type === "element" ? "[i]" : name;
        break;
      }
    }
    const key = `${group} <- ${groupOf(g, holder)}.${edge}`;
    const row = out.get(key) ?? { count: 0, holders: new Map<number, number>() };
    row.count += 1;
    row.holders.set(holder, (row.holders.get(holder) ?? 0) + 1);
    out.set(key, row);
  }
  return out;
}

if (import.meta.main) {
  const [beforeFile, afterFile, topArg] = process.argv.slice(2);
  if (!beforeFile || !afterFile) throw new Error("usage: snapshot-diff.ts <before> <after> [top]");
  const top = Number(topArg ?? 8);
  const before = loadHeapGraph(beforeFile);
  const after = loadHeapGraph(afterFile);
  const a = countByGroup(before);
  const grown = [...countByGroup(after).entries()]
    .map(([group, row]) => ({
      group,
      before: a.get(group)?.count ?? 0,
      after: row.count,
      delta: row.count - (a.get(group)?.count ?? 0),
      deltaBytes: row.bytes - (a.get(group)?.bytes ?? 0),
    }))
    .sort((x, y) => y.delta - x.delta)
    .slice(0, top);
  console.log(`nodes: ${before.nodeCount} -> ${after.nodeCount}; groups that grew most:`);
  console.table(grown);

  // Object ids are not stable between two JSC snapshots, so new objects are found by where they hang.
  const groups = new Set(grown.filter((r) => r.delta > 0).map((r) => r.group));
  const was = retainedBy(before, groups);
  const now = [...retainedBy(after, groups).entries()]
    .map(([key, row]) => ({ key, row, delta: row.count - (was.get(key)?.count ?? 0) }))
    .sort((x, y) => y.delta - x.delta)
    .slice(0, top);
  console.log("\nwhere the growth hangs (first retainer and edge):");
  console.table(now.map(({ key, row, delta }) => ({ retained: key, after: row.count, delta })));
  for (const { key, row } of now.slice(0, 2)) {
    const holders = [...row.holders.entries()].sort((x, y) => y[1] - x[1]);
    const [holder, count] = holders[0] as [number, number];
    console.log(`\n${key}: ${holders.length} holders; the largest holds ${count}; its path from a root:`);
    for (const step of after.pathToRoot(holder).reverse()) console.log(`   ${step}`);
  }
}
