/**
 * Graph format v1 (owned by Python: `js/shared/contract.ts`) ⇄ React Flow
 * nodes/edges. Pure functions.
 *
 * Graph node: {id, type, position, data, parentId?}; children of a group
 * (a transformer block) have positions relative to the parent. What each
 * block type is (group, source, sink, which handles, what it reads and
 * emits) comes from the catalogue Python sends, never from lists kept here.
 */
import type { Edge, Node, XYPosition } from '@xyflow/react';

import {
  CatalogBlock,
  Edge as EdgeJSON,
  GRAPH_VERSION,
  Graph as GraphJSON,
  GROUP_MIN_SIZE,
  GROUP_PADDING,
  Node as NodeJSON,
  NODE_SIZE,
  REACT_FLOW_FIELDS,
  Viewport as ViewportJSON
} from '../shared/contract';

export { GROUP_PADDING };

/** Where the view is (pan and zoom), once read: every part there. */
export type Viewport = Required<ViewportJSON>;

/** A point in flow coordinates. */
export type XY = XYPosition;

/** A block's settings (`node.data`): the fields of its catalogue schema. */
export type BlockData = Record<string, unknown>;
/** A block type name from the catalogue (`tokens`, `attention`, ...). */
export type BlockType = string;

/** A node once read (`normalizeGraph`): position and data always there. */
export type GraphNode = Omit<NodeJSON, 'position' | 'data'> & { position: XY; data: BlockData };
/** An edge once read: it always has an id. */
export type GraphEdge = Omit<EdgeJSON, 'id'> & { id: string };
/** A graph once read: every part there. */
export type Graph = Omit<GraphJSON, 'version' | 'nodes' | 'edges' | 'viewport'> & {
  version: typeof GRAPH_VERSION;
  nodes: GraphNode[];
  edges: GraphEdge[];
  viewport: Viewport;
};

/** A block as React Flow holds it. */
export type FlowNode = Node<BlockData, BlockType>;

/** The catalogue by block type (what the canvas knows about each type). */
export type Blocks = Readonly<Record<string, CatalogBlock | undefined>>;

export interface Handles {
  inputs: readonly string[];
  outputs: readonly string[];
}

/** Size of a block before React Flow has measured it. */
export const DEFAULT_NODE_SIZE: { width: number; height: number } = NODE_SIZE;

/** Whether blocks of `type` hold other blocks (the catalogue's `group` role). */
export function isGroup(blocks: Blocks, type: string | undefined): boolean {
  return Boolean(type && blocks[type]?.role === 'group');
}

/** A block's handles from the catalogue; an unknown type gets one input and one output. */
export function handlesFor(type: string, blocks: Blocks): Handles {
  const b = blocks[type];
  return b ? { inputs: b.inputs, outputs: b.outputs } : { inputs: ['in'], outputs: ['out'] };
}

export function emptyGraph(): Graph {
  return { version: 1, nodes: [], edges: [], viewport: { x: 0, y: 0, zoom: 1 } };
}

/** Lists keep their identity when nothing in them needed filling in (so the canvas re-derives nothing). */
function filled<T, U>(items: T[], complete: (x: T) => boolean, fill: (x: T, i: number) => U): U[] {
  return items.every(complete) ? (items as unknown as U[]) : items.map((x, i) => (complete(x) ? (x as unknown as U) : fill(x, i)));
}

/** Coerce whatever Python sent into a well-formed graph (positions, data and edge ids filled in). */
export function normalizeGraph(raw: unknown): Graph {
  const g = (raw && typeof raw === 'object' ? raw : {}) as Partial<GraphJSON>;
  const nodes = filled(
    Array.isArray(g.nodes) ? g.nodes : [],
    n => Boolean(n.position && typeof n.position.x === 'number' && typeof n.position.y === 'number' && n.data),
    n => ({ ...n, position: { x: 0, y: 0, ...n.position }, data: n.data ?? {} })
  );
  const edges = filled(
    Array.isArray(g.edges) ? g.edges : [],
    e => typeof e.id === 'string',
    e => ({ ...e, id: edgeId(e) })
  );
  return {
    ...g,
    version: GRAPH_VERSION,
    nodes,
    edges,
    viewport: viewportOf(g.viewport)
  };
}

function viewportOf(vp: ViewportJSON | undefined): Viewport {
  if (vp && typeof vp === 'object' && typeof vp.x === 'number' && typeof vp.y === 'number' && typeof vp.zoom === 'number') {
    return vp as Viewport;
  }
  return { x: 0, y: 0, zoom: 1, ...(vp && typeof vp === 'object' ? vp : {}) };
}

/** `obj` without React Flow's run-time fields (they never reach Python). */
export function stripRF<T extends object>(obj: T): T {
  const out = { ...obj };
  for (const k of REACT_FLOW_FIELDS) {
    delete (out as Record<string, unknown>)[k];
  }
  return out;
}

/** Parents before children (React Flow requires it); stable otherwise. */
export function sortParentsFirst<T extends { id: string; parentId?: string | null }>(nodes: T[]): T[] {
  const byId = new Map(nodes.map(n => [n.id, n]));
  const done = new Set<string>();
  const out: T[] = [];
  const visit = (n: T, stack: Set<string>) => {
    if (done.has(n.id)) {
      return;
    }
    if (n.parentId && byId.has(n.parentId) && !stack.has(n.parentId)) {
      stack.add(n.id);
      visit(byId.get(n.parentId)!, stack);
    }
    done.add(n.id);
    out.push(n);
  };
  nodes.forEach(n => visit(n, new Set()));
  return out;
}


type Sized = {
  id: string;
  parentId?: string | null;
  position: XYPosition;
  measured?: { width?: number; height?: number };
  dragging?: boolean;
};

/**
 * Size of a group box that holds its children (relative positions). Children
 * being dragged do not count, so the box stays put while one is dragged out.
 */
export function groupSize(
  groupId: string,
  nodes: readonly Sized[]
): { width: number; height: number } {
  let w: number = GROUP_MIN_SIZE.width;
  let h: number = GROUP_MIN_SIZE.height;
  for (const n of nodes) {
    if (n.parentId !== groupId || n.dragging) {
      continue;
    }
    const nw = n.measured?.width ?? DEFAULT_NODE_SIZE.width;
    const nh = n.measured?.height ?? DEFAULT_NODE_SIZE.height;
    w = Math.max(w, n.position.x + nw + GROUP_PADDING.x);
    h = Math.max(h, n.position.y + nh + GROUP_PADDING.bottom);
  }
  return { width: Math.round(w), height: Math.round(h) };
}

/** Give every group node a style size fitting its children; keeps identity when unchanged. */
export function fitGroups<N extends Node>(nodes: N[], blocks: Blocks): N[] {
  let changed = false;
  const out = nodes.map(n => {
    if (!isGroup(blocks, n.type)) {
      return n;
    }
    const size = groupSize(n.id, nodes as Sized[]);
    const style = n.style ?? {};
    if (style.width === size.width && style.height === size.height) {
      return n;
    }
    changed = true;
    return { ...n, style: { ...style, width: size.width, height: size.height } };
  });
  return changed ? out : nodes;
}

/**
 * React Flow nodes for `graph`, keeping run-time state (selection, measured
 * size) of `prev` nodes with the same id so a re-render does not flicker.
 */
export function toFlowNodes(graph: Graph, blocks: Blocks, prev: readonly FlowNode[] = []): FlowNode[] {
  const prevById = new Map(prev.map(n => [n.id, n]));
  const nodes: FlowNode[] = sortParentsFirst(graph.nodes).map(g => {
    const p = prevById.get(g.id);
    const n: FlowNode = {
      id: g.id,
      type: g.type,
      position: { x: Number(g.position?.x) || 0, y: Number(g.position?.y) || 0 },
      data: g.data ?? {}
    };
    if (g.parentId) {
      n.parentId = g.parentId;
    }
    if (isGroup(blocks, g.type)) {
      n.className = 'sdl-group';
      n.dragHandle = '.sdl-group-header';
    }
    if (g.locked) {
      // a guided exercise's block: it may move, never be deleted (Python refuses that too)
      n.deletable = false;
      n.className = `${n.className ?? ''} sdl-locked`.trim();
    }
    if (p?.selected) {
      n.selected = true;
    }
    if (p?.measured) {
      n.measured = p.measured;
    }
    return n;
  });
  return fitGroups(nodes, blocks);
}

export function toFlowEdges(graph: Graph, prev: readonly Edge[] = []): Edge[] {
  const prevById = new Map(prev.map(e => [e.id, e]));
  return graph.edges.map(g => {
    const e: Edge = { id: g.id, source: g.source, target: g.target };
    if (g.sourceHandle) {
      e.sourceHandle = g.sourceHandle;
    }
    if (g.targetHandle) {
      e.targetHandle = g.targetHandle;
    }
    if (prevById.get(g.id)?.selected) {
      e.selected = true;
    }
    return e;
  });
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

/** New graph with the given nodes moved (positions relative to their parent). */
export function moveNodes(graph: Graph, moved: readonly { id: string; position: XYPosition }[]): Graph {
  const pos = new Map(moved.map(m => [m.id, m.position]));
  if (!graph.nodes.some(n => pos.has(n.id))) {
    return graph;
  }
  return {
    ...graph,
    nodes: graph.nodes.map(n => {
      const p = pos.get(n.id);
      return p ? { ...stripRF(n), position: { x: round(p.x), y: round(p.y) } } : n;
    })
  };
}

export interface Connection {
  source: string | null;
  target: string | null;
  sourceHandle?: string | null;
  targetHandle?: string | null;
}

/** Whether `from` reaches `to` following edges (so an edge to → from would close a cycle). */
export function reaches(graph: Graph, from: string, to: string): boolean {
  const next = new Map<string, string[]>();
  for (const e of graph.edges) {
    next.set(e.source, [...(next.get(e.source) ?? []), e.target]);
  }
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length) {
    const id = stack.pop()!;
    if (id === to) {
      return true;
    }
    if (!seen.has(id)) {
      seen.add(id);
      stack.push(...(next.get(id) ?? []));
    }
  }
  return false;
}

/** "Token embedding", "LM head or Linear": the titles of the catalogue's blocks that pass `test`. */
function titlesWhere(blocks: Blocks, test: (b: CatalogBlock) => boolean): string {
  const titles = Object.values(blocks)
    .filter((b): b is CatalogBlock => Boolean(b && test(b)))
    .map(b => b.title);
  return titles.length <= 1 ? titles.join('') : `${titles.slice(0, -1).join(', ')} or ${titles[titles.length - 1]}`;
}

function titleOf(blocks: Blocks, type: string): string {
  return blocks[type]?.title ?? type;
}

/**
 * Why a connection is not allowed (a sentence), or null when it is: checked
 * while an edge is dragged (React Flow's `isValidConnection`) and again on
 * connect. The rules come from the catalogue: each block's handles, role
 * (group, sink), what it reads and emits (token ids or activations) and
 * whether it may feed the logits.
 */
export function connectionProblem(graph: Graph, c: Connection, blocks: Blocks): string | null {
  if (!c.source || !c.target) {
    return 'The connection has no end.';
  }
  if (c.source === c.target) {
    return 'A block cannot feed itself.';
  }
  const src = graph.nodes.find(n => n.id === c.source);
  const dst = graph.nodes.find(n => n.id === c.target);
  if (!src || !dst) {
    return 'That block is not in the design.';
  }
  if (isGroup(blocks, src.type) || isGroup(blocks, dst.type)) {
    const group = titleOf(blocks, isGroup(blocks, src.type) ? src.type : dst.type);
    return `Connect the blocks inside the ${group}, not the ${group} itself.`;
  }
  const outs = handlesFor(src.type, blocks).outputs;
  const ins = handlesFor(dst.type, blocks).inputs;
  const sh = c.sourceHandle ?? (outs.length === 1 ? outs[0] : null);
  const th = c.targetHandle ?? (ins.length === 1 ? ins[0] : null);
  if (!sh || !outs.includes(sh)) {
    return outs.length
      ? `${titleOf(blocks, src.type)} has no output “${c.sourceHandle ?? ''}”; its output is “${outs.join('”, “')}”.`
      : `${titleOf(blocks, src.type)} has no output: nothing comes after it.`;
  }
  if (!th || !ins.includes(th)) {
    return ins.length
      ? `${titleOf(blocks, dst.type)} has no input “${c.targetHandle ?? ''}”; its inputs are “${ins.join('”, “')}”.`
      : `${titleOf(blocks, dst.type)} has no input: nothing goes into it.`;
  }
  const taken = graph.edges.some(
    e => e.target === c.target && (e.targetHandle ?? (ins.length === 1 ? ins[0] : null)) === th
  );
  if (taken) {
    return `Input “${th}” of ${titleOf(blocks, dst.type)} is already connected; delete that wire first.`;
  }
  const from = blocks[src.type];
  const to = blocks[dst.type];
  if (from?.emits === 'ids' && to && to.reads !== 'ids') {
    return `${titleOf(blocks, src.type)} gives token ids, which only ${titlesWhere(blocks, b => b.reads === 'ids')} can read.`;
  }
  if (to?.reads === 'ids' && from && from.emits !== 'ids') {
    return `${titleOf(blocks, dst.type)} reads token ids: connect ${titlesWhere(blocks, b => b.emits === 'ids')} to it.`;
  }
  if (to?.role === 'sink' && from && !from.feeds_logits) {
    return `${titleOf(blocks, dst.type)} takes scores over the vocabulary: connect ${titlesWhere(blocks, b => b.feeds_logits)} to it.`;
  }
  if (reaches(graph, c.target, c.source)) {
    return 'That connection would make a cycle.';
  }
  return null;
}

/**
 * The id of an edge, in the format Python writes (`graph.schema.edge_id`):
 * `e-<source>-<target>`, with a handle only where it is not the usual one.
 */
export function edgeId(c: Pick<Connection, 'source' | 'target' | 'sourceHandle' | 'targetHandle'>): string {
  const src = !c.sourceHandle || c.sourceHandle === 'out' ? c.source : `${c.source}.${c.sourceHandle}`;
  const dst = !c.targetHandle || c.targetHandle === 'in' ? c.target : `${c.target}-${c.targetHandle}`;
  return `e-${src}-${dst}`;
}

/** `edgeId(c)`, with `_2`, `_3`, ... added when the graph already has it. */
export function freeEdgeId(taken: ReadonlySet<string>, c: Parameters<typeof edgeId>[0]): string {
  const base = edgeId(c);
  let id = base;
  for (let i = 2; taken.has(id); i++) {
    id = `${base}_${i}`;
  }
  return id;
}

export function connect(graph: Graph, c: Connection, blocks: Blocks): Graph {
  if (connectionProblem(graph, c, blocks)) {
    return graph;
  }
  const e: GraphEdge = { id: freeEdgeId(new Set(graph.edges.map(x => x.id)), c), source: c.source!, target: c.target! };
  if (c.sourceHandle) {
    e.sourceHandle = c.sourceHandle;
  }
  if (c.targetHandle) {
    e.targetHandle = c.targetHandle;
  }
  return { ...graph, edges: [...graph.edges, e] };
}

/** Remove nodes (with their descendants) and edges (and edges of removed nodes). */
export function removeElements(graph: Graph, nodeIds: Iterable<string>, edgeIds: Iterable<string> = []): Graph {
  const gone = new Set(nodeIds);
  let grew = true;
  while (grew) {
    grew = false;
    for (const n of graph.nodes) {
      if (n.parentId && gone.has(n.parentId) && !gone.has(n.id)) {
        gone.add(n.id);
        grew = true;
      }
    }
  }
  const goneEdges = new Set(edgeIds);
  const nodes = graph.nodes.filter(n => !gone.has(n.id));
  const edges = graph.edges.filter(
    e => !goneEdges.has(e.id) && !gone.has(e.source) && !gone.has(e.target)
  );
  if (nodes.length === graph.nodes.length && edges.length === graph.edges.length) {
    return graph;
  }
  return { ...graph, nodes, edges };
}

export function uniqueNodeId(graph: Graph, type: string): string {
  const ids = new Set(graph.nodes.map(n => n.id));
  const base = type.replace(/[A-Z]/g, c => `_${c.toLowerCase()}`);
  for (let i = 1; ; i++) {
    const id = `${base}_${i}`;
    if (!ids.has(id)) {
      return id;
    }
  }
}

export function addBlock(
  graph: Graph,
  type: string,
  position: XYPosition,
  data: Record<string, unknown> = {},
  parentId?: string
): { graph: Graph; id: string } {
  const id = uniqueNodeId(graph, type);
  const node: GraphNode = {
    id,
    type,
    position: { x: round(position.x), y: round(position.y) },
    data: { ...data }
  };
  if (parentId) {
    node.parentId = parentId;
  }
  return { graph: { ...graph, nodes: [...graph.nodes, node] }, id };
}

export function updateNodeData(graph: Graph, id: string, patch: Record<string, unknown>): Graph {
  return {
    ...graph,
    nodes: graph.nodes.map(n => (n.id === id ? { ...n, data: { ...n.data, ...patch } } : n))
  };
}

/** Absolute position of a node (sum of its ancestors' positions). */
export function absolutePosition(graph: Graph, id: string): XYPosition {
  const byId = new Map(graph.nodes.map(n => [n.id, n]));
  let x = 0;
  let y = 0;
  let cur = byId.get(id);
  const seen = new Set<string>();
  while (cur && !seen.has(cur.id)) {
    seen.add(cur.id);
    x += cur.position.x;
    y += cur.position.y;
    cur = cur.parentId ? byId.get(cur.parentId) : undefined;
  }
  return { x, y };
}

/**
 * A position near `preferred` (absolute coordinates) where a new block does not
 * overlap any existing block: tries the spot, then steps right, then down.
 */
export function freeSpot(
  graph: Graph,
  preferred: XYPosition,
  blocks: Blocks,
  size: { width: number; height: number } = DEFAULT_NODE_SIZE
): XYPosition {
  const boxes = graph.nodes
    .filter(n => !isGroup(blocks, n.type))
    .map(n => ({ ...absolutePosition(graph, n.id), ...DEFAULT_NODE_SIZE }));
  const groups = graph.nodes
    .filter(n => isGroup(blocks, n.type))
    .map(n => ({
      ...absolutePosition(graph, n.id),
      ...groupSize(n.id, graph.nodes)
    }));
  const all = [...boxes, ...groups];
  const gap = 16;
  const hits = (p: XYPosition) =>
    all.some(
      b =>
        p.x < b.x + b.width + gap &&
        p.x + size.width + gap > b.x &&
        p.y < b.y + b.height + gap &&
        p.y + size.height + gap > b.y
    );
  for (let row = 0; row < 20; row++) {
    for (let col = 0; col < 20; col++) {
      const p = { x: preferred.x + col * (size.width / 2), y: preferred.y + row * (size.height + gap) };
      if (!hits(p)) {
        return p;
      }
    }
  }
  return preferred;
}

/** The graph with `viewport` (rounded); the same object when the change is negligible. */
export function withViewport(graph: Graph, vp: Viewport): Graph {
  const next = { x: Math.round(vp.x), y: Math.round(vp.y), zoom: Math.round(vp.zoom * 1000) / 1000 };
  const cur = graph.viewport;
  if (cur && cur.x === next.x && cur.y === next.y && cur.zoom === next.zoom) {
    return graph;
  }
  return { ...graph, viewport: next };
}

/**
 * Move node `id` under `parentId` (or to the top level with null), keeping its
 * absolute position: children's positions are relative to their parent.
 * Groups are never nested; a node cannot become its own ancestor.
 */
export function reparent(graph: Graph, id: string, parentId: string | null, blocks: Blocks): Graph {
  const node = graph.nodes.find(n => n.id === id);
  if (!node || (node.parentId ?? null) === parentId || id === parentId) {
    return graph;
  }
  if (parentId) {
    const parent = graph.nodes.find(n => n.id === parentId);
    if (!parent || isGroup(blocks, node.type)) {
      return graph;
    }
    // no cycles: the new parent must not descend from the node
    for (let p: GraphNode | undefined = parent; p; p = graph.nodes.find(n => n.id === p!.parentId)) {
      if (p.id === id) {
        return graph;
      }
      if (!p.parentId) {
        break;
      }
    }
  }
  const abs = absolutePosition(graph, id);
  const base = parentId ? absolutePosition(graph, parentId) : { x: 0, y: 0 };
  const moved: GraphNode = { ...stripRF(node), position: { x: round(abs.x - base.x), y: round(abs.y - base.y) } };
  if (parentId) {
    moved.parentId = parentId;
  } else {
    delete moved.parentId;
  }
  // React Flow needs parents before children: put the node after its new parent
  const rest = graph.nodes.filter(n => n.id !== id);
  const at = parentId ? rest.findIndex(n => n.id === parentId) + 1 : rest.length;
  return { ...graph, nodes: [...rest.slice(0, at), moved, ...rest.slice(at)] };
}

/**
 * The group (if any) whose box contains the absolute point `p`; the last wins.
 * `exclude` (the node being dropped) neither counts as a group nor sizes one.
 */
export function groupAt(graph: Graph, p: XYPosition, blocks: Blocks, exclude?: string): string | null {
  let found: string | null = null;
  const others = exclude ? graph.nodes.filter(n => n.id !== exclude) : graph.nodes;
  for (const n of graph.nodes) {
    if (!isGroup(blocks, n.type) || n.id === exclude) {
      continue;
    }
    const a = absolutePosition(graph, n.id);
    const s = groupSize(n.id, others);
    if (p.x >= a.x && p.x <= a.x + s.width && p.y >= a.y && p.y <= a.y + s.height) {
      found = n.id;
    }
  }
  return found;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The box around every block of `graph` (absolute coordinates), or null for an empty graph. */
export function graphBounds(graph: Graph, blocks: Blocks): Box | null {
  if (graph.nodes.length === 0) {
    return null;
  }
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const n of graph.nodes) {
    const p = absolutePosition(graph, n.id);
    const size = isGroup(blocks, n.type) ? groupSize(n.id, graph.nodes) : DEFAULT_NODE_SIZE;
    x0 = Math.min(x0, p.x);
    y0 = Math.min(y0, p.y);
    x1 = Math.max(x1, p.x + size.width);
    y1 = Math.max(y1, p.y + size.height);
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** The zoom range in which block titles stay readable. */
export const READABLE_ZOOM = { min: 0.75, max: 1 };

/**
 * A viewport that shows `bounds` in a `view` of the given size at a readable
 * zoom: the whole design when it fits between READABLE_ZOOM.min and 1×, else
 * its top (where the tokens come in), centred across.
 */
export function readableViewport(
  bounds: Box,
  view: { width: number; height: number },
  padding = 24,
  top = padding
): Viewport {
  const fit = Math.min((view.width - 2 * padding) / bounds.width, (view.height - 2 * padding) / bounds.height);
  const zoom = Math.min(READABLE_ZOOM.max, Math.max(READABLE_ZOOM.min, fit));
  const x = (view.width - bounds.width * zoom) / 2 - bounds.x * zoom;
  const tall = bounds.height * zoom > view.height - top - padding;
  const y = tall ? top - bounds.y * zoom : (view.height - bounds.height * zoom) / 2 - bounds.y * zoom;
  return { x: Math.round(x), y: Math.round(y), zoom: Math.round(zoom * 1000) / 1000 };
}

function sameJSON(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/**
 * Ids of the blocks `before` locks that `next` deleted, unlocked, or changed
 * (type, settings or parent; a new position is allowed). Python refuses
 * such an edit as well (`sd.graph.locked_changes`).
 */
export function lockedChanges(before: Graph, next: Graph): string[] {
  if (before.nodes === next.nodes) {
    return [];
  }
  const now = new Map(next.nodes.map(n => [n.id, n]));
  return before.nodes
    .filter(n => n.locked)
    .filter(n => {
      const m = now.get(n.id);
      return (
        !m ||
        !m.locked ||
        m.type !== n.type ||
        (m.parentId ?? null) !== (n.parentId ?? null) ||
        !sameJSON(m.data, n.data)
      );
    })
    .map(n => n.id);
}
