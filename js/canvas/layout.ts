/**
 * Auto-layout (pure): top-to-bottom layers by longest path over the DAG of
 * edges. Each transformer block is laid out inside (its children), then
 * placed in the top level as one unit of its measured size.
 */
import type { Blocks, Graph, GraphNode } from './graph';
import { DEFAULT_NODE_SIZE, GROUP_PADDING, isGroup } from './graph';
import { GROUP_MIN_SIZE } from '../shared/contract';

export const LAYOUT_GAP = { x: 40, y: 48 };

interface Unit {
  id: string;
  width: number;
  height: number;
}

/**
 * Layer of every unit: 0 for sources, else 1 + the deepest predecessor
 * (edges that would close a cycle are ignored).
 */
export function longestPathLayers(ids: string[], links: [string, string][]): Map<string, number> {
  const succ = new Map<string, string[]>(ids.map(id => [id, []]));
  for (const [a, b] of links) {
    if (a !== b && succ.has(a) && succ.has(b)) {
      succ.get(a)!.push(b);
    }
  }
  // drop back edges (found by a depth-first walk in node order), so the rest is a DAG
  const state = new Map<string, 'open' | 'done'>();
  const dag = new Map<string, string[]>(ids.map(id => [id, []]));
  const walk = (id: string) => {
    state.set(id, 'open');
    for (const next of succ.get(id)!) {
      if (state.get(next) === 'open') {
        continue; // closes a cycle
      }
      dag.get(id)!.push(next);
      if (!state.has(next)) {
        walk(next);
      }
    }
    state.set(id, 'done');
  };
  ids.forEach(id => state.has(id) || walk(id));
  // longest path from a source, in topological order (Kahn)
  const indeg = new Map<string, number>(ids.map(id => [id, 0]));
  dag.forEach(outs => outs.forEach(b => indeg.set(b, indeg.get(b)! + 1)));
  const layer = new Map<string, number>(ids.map(id => [id, 0]));
  const queue = ids.filter(id => indeg.get(id) === 0);
  while (queue.length) {
    const id = queue.shift()!;
    for (const b of dag.get(id)!) {
      layer.set(b, Math.max(layer.get(b)!, layer.get(id)! + 1));
      indeg.set(b, indeg.get(b)! - 1);
      if (indeg.get(b) === 0) {
        queue.push(b);
      }
    }
  }
  return layer;
}

/** Place units in layers, centred on x = 0; returns top-left positions. */
function placeLayers(
  units: Unit[],
  layers: Map<string, number>,
  origin: { x: number; y: number }
): Map<string, { x: number; y: number }> {
  const rows = new Map<number, Unit[]>();
  for (const u of units) {
    const l = layers.get(u.id) ?? 0;
    rows.set(l, [...(rows.get(l) ?? []), u]);
  }
  const out = new Map<string, { x: number; y: number }>();
  const widest = Math.max(
    0,
    ...[...rows.values()].map(r => r.reduce((s, u) => s + u.width, 0) + LAYOUT_GAP.x * (r.length - 1))
  );
  let y = origin.y;
  for (const l of [...rows.keys()].sort((a, b) => a - b)) {
    const row = rows.get(l)!;
    const w = row.reduce((s, u) => s + u.width, 0) + LAYOUT_GAP.x * (row.length - 1);
    let x = origin.x + (widest - w) / 2;
    for (const u of row) {
      out.set(u.id, { x: Math.round(x), y: Math.round(y) });
      x += u.width + LAYOUT_GAP.x;
    }
    y += Math.max(...row.map(u => u.height)) + LAYOUT_GAP.y;
  }
  return out;
}

/**
 * Layered placement of `units`, with the ones no link touches in a column
 * beside the connected ones (blocks not wired yet would otherwise all sit in
 * the first row and make the design too wide to read).
 */
function placeWithLoose(
  units: Unit[],
  links: [string, string][],
  origin: { x: number; y: number }
): Map<string, { x: number; y: number }> {
  const linked = new Set(links.flat());
  const wired = units.filter(u => linked.has(u.id));
  const loose = units.filter(u => !linked.has(u.id));
  if (wired.length === 0) {
    return placeLayers(loose, new Map(loose.map((u, i) => [u.id, i])), origin);
  }
  const placed = placeLayers(wired, longestPathLayers(wired.map(u => u.id), links), origin);
  const right = Math.max(...wired.map(u => placed.get(u.id)!.x + u.width));
  let y = origin.y;
  for (const u of loose) {
    placed.set(u.id, { x: Math.round(right + 2 * LAYOUT_GAP.x), y: Math.round(y) });
    y += u.height + LAYOUT_GAP.y;
  }
  return placed;
}

/** The graph with every node placed by the layered layout (groups laid out inside first). */
export function autoLayout(
  graph: Graph,
  blocks: Blocks,
  sizeOf: (n: GraphNode) => { width: number; height: number } = () => DEFAULT_NODE_SIZE
): Graph {
  const byId = new Map(graph.nodes.map(n => [n.id, n]));
  const top = (id: string): string => {
    let cur = byId.get(id);
    const seen = new Set<string>();
    while (cur?.parentId && byId.has(cur.parentId) && !seen.has(cur.id)) {
      seen.add(cur.id);
      cur = byId.get(cur.parentId);
    }
    return cur?.id ?? id;
  };
  const positions = new Map<string, { x: number; y: number }>();
  const groupSizes = new Map<string, { width: number; height: number }>();
  // 1. inside each group
  for (const g of graph.nodes.filter(n => isGroup(blocks, n.type))) {
    const kids = graph.nodes.filter(n => n.parentId === g.id);
    const ids = new Set(kids.map(k => k.id));
    const links = graph.edges
      .filter(e => ids.has(e.source) && ids.has(e.target))
      .map(e => [e.source, e.target] as [string, string]);
    const units = kids.map(k => ({ id: k.id, ...sizeOf(k) }));
    const placed = placeWithLoose(units, links, { x: GROUP_PADDING.x, y: GROUP_PADDING.top });
    placed.forEach((p, id) => positions.set(id, p));
    let width: number = GROUP_MIN_SIZE.width;
    let height: number = GROUP_MIN_SIZE.height;
    for (const u of units) {
      const p = placed.get(u.id)!;
      width = Math.max(width, p.x + u.width + GROUP_PADDING.x);
      height = Math.max(height, p.y + u.height + GROUP_PADDING.bottom);
    }
    groupSizes.set(g.id, { width, height });
  }
  // 2. the top level: groups are single units; edges in/out of a group's children count for the group
  const topNodes = graph.nodes.filter(n => !n.parentId || !byId.has(n.parentId));
  const links: [string, string][] = [];
  for (const e of graph.edges) {
    const a = top(e.source);
    const b = top(e.target);
    if (a !== b) {
      links.push([a, b]);
    }
  }
  const units = topNodes.map(n => ({ id: n.id, ...(groupSizes.get(n.id) ?? sizeOf(n)) }));
  const placed = placeWithLoose(units, links, { x: 0, y: 0 });
  placed.forEach((p, id) => positions.set(id, p));
  return {
    ...graph,
    nodes: graph.nodes.map(n => {
      const p = positions.get(n.id);
      return p && (p.x !== n.position.x || p.y !== n.position.y) ? { ...n, position: p } : n;
    })
  };
}
