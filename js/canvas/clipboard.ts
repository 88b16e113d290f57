/**
 * Copy/paste of canvas blocks (pure): the selected nodes with the edges
 * between them; pasting gives every node a new unique id and remaps edges,
 * parents and ids together.
 */
import type { Blocks, Graph, GraphEdge, GraphNode } from './graph';
import { freeEdgeId, isGroup, stripRF, uniqueNodeId } from './graph';

export interface Fragment {
  kind: 'slamdunk-lab/blocks';
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** The nodes `ids` (plus the children of selected groups) and the edges among them. */
export function copyFragment(graph: Graph, ids: Iterable<string>): Fragment | null {
  const chosen = new Set(ids);
  for (const n of graph.nodes) {
    if (n.parentId && chosen.has(n.parentId)) {
      chosen.add(n.id);
    }
  }
  const nodes = graph.nodes.filter(n => chosen.has(n.id)).map(n => structuredClone(stripRF(n)));
  if (nodes.length === 0) {
    return null;
  }
  const edges = graph.edges
    .filter(e => chosen.has(e.source) && chosen.has(e.target))
    .map(e => structuredClone(stripRF(e)));
  return { kind: 'slamdunk-lab/blocks', nodes, edges };
}

export function isFragment(x: unknown): x is Fragment {
  const f = x as Fragment;
  return !!f && f.kind === 'slamdunk-lab/blocks' && Array.isArray(f.nodes) && Array.isArray(f.edges);
}

/**
 * `graph` with `fragment` added: new node ids (unique in the graph), edges
 * remapped, top-level pasted nodes shifted by `offset`. A pasted node whose
 * parent was not copied keeps that parent when it still exists in the graph.
 */
export function pasteFragment(
  graph: Graph,
  fragment: Fragment,
  blocks: Blocks,
  offset: { x: number; y: number } = { x: 40, y: 40 }
): { graph: Graph; ids: string[] } {
  const map = new Map<string, string>();
  let g: Graph = graph;
  const existing = new Set(graph.nodes.map(n => n.id));
  const added: GraphNode[] = [];
  for (const n of fragment.nodes) {
    const id = uniqueNodeId({ ...g, nodes: [...g.nodes, ...added] }, n.type);
    map.set(n.id, id);
    added.push({ ...n, id });
  }
  const nodes = added.map(n => {
    const out: GraphNode = { ...n, data: structuredClone(n.data ?? {}) };
    const copiedParent = n.parentId ? map.get(n.parentId) : undefined;
    if (copiedParent) {
      out.parentId = copiedParent;
    } else {
      if (n.parentId && !existing.has(n.parentId)) {
        delete out.parentId;
      }
      out.position = { x: n.position.x + offset.x, y: n.position.y + offset.y };
    }
    if (isGroup(blocks, out.type)) {
      delete out.parentId;
    }
    return out;
  });
  // parents before children
  nodes.sort((a, b) => Number(Boolean(a.parentId && map.has(a.parentId))) - Number(Boolean(b.parentId && map.has(b.parentId))));
  const edgeIds = new Set(graph.edges.map(e => e.id));
  const edges = fragment.edges.map(e => {
    const out: GraphEdge = { ...e, source: map.get(e.source)!, target: map.get(e.target)! };
    out.id = freeEdgeId(edgeIds, out);
    edgeIds.add(out.id);
    return out;
  });
  g = { ...graph, nodes: [...graph.nodes, ...nodes], edges: [...graph.edges, ...edges] };
  return { graph: g, ids: nodes.map(n => n.id) };
}
