/**
 * Graph format v1 (owned by Python) ⇄ React Flow nodes/edges. Pure functions.
 *
 * Graph node: {id, type, position, data, parentId?}; children of a
 * `transformerBlock` group have positions relative to the parent.
 */
import type { Edge, Node, XYPosition } from '@xyflow/react';

/** A point in flow coordinates. */
export type XY = XYPosition;

/** A block's settings (`node.data`): the fields of its catalogue schema. */
export type BlockData = Record<string, unknown>;
/** A block type name from the catalogue (`tokens`, `attention`, ...). */
export type BlockType = string;

export interface GraphNode {
  id: string;
  type: BlockType;
  position: XYPosition;
  data: BlockData;
  parentId?: string;
  [key: string]: unknown;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  sourceHandle?: string | null;
  targetHandle?: string | null;
  [key: string]: unknown;
}

export interface Viewport {
  x: number;
  y: number;
  zoom: number;
}

export interface Graph {
  version: 1;
  nodes: GraphNode[];
  edges: GraphEdge[];
  viewport: Viewport;
  [key: string]: unknown;
}

/** A block as React Flow holds it. */
export type FlowNode = Node<BlockData, BlockType>;

export interface Handles {
  inputs: string[];
  outputs: string[];
}

/** Fields React Flow adds at run time; never written back to Python. */
export const RF_FIELDS = [
  'measured',
  'selected',
  'dragging',
  'width',
  'height',
  'resizing',
  'positionAbsolute',
  'internals'
] as const;

/** React Flow's built-in node type names; our graphs must not use them. */
export const RESERVED_TYPES = ['input', 'output', 'default', 'group'];

export const GROUP_TYPE = 'transformerBlock';

/** Handles of the known block types (used when the catalogue does not say). */
export const DEFAULT_HANDLES: Record<string, Handles> = {
  tokens: { inputs: [], outputs: ['out'] },
  logits: { inputs: ['in'], outputs: [] },
  add: { inputs: ['a', 'b'], outputs: ['out'] },
  transformerBlock: { inputs: [], outputs: [] }
};

export function handlesFor(type: string, catalog?: Partial<Handles> | null): Handles {
  if (catalog && Array.isArray(catalog.inputs) && Array.isArray(catalog.outputs)) {
    return { inputs: catalog.inputs, outputs: catalog.outputs };
  }
  return DEFAULT_HANDLES[type] ?? { inputs: ['in'], outputs: ['out'] };
}

export function emptyGraph(): Graph {
  return { version: 1, nodes: [], edges: [], viewport: { x: 0, y: 0, zoom: 1 } };
}

/** Coerce whatever Python sent into a well-formed graph. */
export function normalizeGraph(raw: unknown): Graph {
  const g = (raw && typeof raw === 'object' ? raw : {}) as Partial<Graph>;
  return {
    ...g,
    version: 1,
    nodes: Array.isArray(g.nodes) ? g.nodes : [],
    edges: Array.isArray(g.edges) ? g.edges : [],
    viewport:
      g.viewport && typeof g.viewport === 'object'
        ? g.viewport
        : { x: 0, y: 0, zoom: 1 }
  };
}

export function stripRF<T extends Record<string, unknown>>(obj: T): T {
  const out = { ...obj };
  for (const k of RF_FIELDS) {
    delete (out as Record<string, unknown>)[k];
  }
  return out;
}

/** Parents before children (React Flow requires it); stable otherwise. */
export function sortParentsFirst<T extends { id: string; parentId?: string }>(nodes: T[]): T[] {
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

export const GROUP_PADDING = { x: 24, top: 44, bottom: 24 };
export const DEFAULT_NODE_SIZE = { width: 176, height: 64 };

type Sized = {
  id: string;
  parentId?: string;
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
  let w = 280;
  let h = 120;
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
export function fitGroups<N extends Node>(nodes: N[]): N[] {
  let changed = false;
  const out = nodes.map(n => {
    if (n.type !== GROUP_TYPE) {
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
export function toFlowNodes(graph: Graph, prev: readonly FlowNode[] = []): FlowNode[] {
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
    if (g.type === GROUP_TYPE) {
      n.className = 'sdl-group';
      n.dragHandle = '.sdl-group-header';
    }
    if (p?.selected) {
      n.selected = true;
    }
    if (p?.measured) {
      n.measured = p.measured;
    }
    return n;
  });
  return fitGroups(nodes);
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

/** Block types whose output is token ids, and the only block type that reads them. */
export const TOKEN_SOURCE = 'tokens';
export const TOKEN_READER = 'tokenEmbedding';
/** Block types whose output can be the model's logits (vocabulary scores). */
export const LOGIT_PRODUCERS = ['lmHead', 'linear'];

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

/**
 * Why a connection is not allowed, or null when it is: checked while an edge
 * is dragged (React Flow's `isValidConnection`) and again on connect.
 * `blocks` (the catalogue by type) gives each block's input/output handles.
 */
export function connectionProblem(
  graph: Graph,
  c: Connection,
  blocks: Record<string, (Partial<Handles> & { is_group?: boolean }) | undefined> = {}
): string | null {
  if (!c.source || !c.target) {
    return 'incomplete connection';
  }
  if (c.source === c.target) {
    return 'a block cannot feed itself';
  }
  const src = graph.nodes.find(n => n.id === c.source);
  const dst = graph.nodes.find(n => n.id === c.target);
  if (!src || !dst) {
    return 'unknown block';
  }
  if (src.type === GROUP_TYPE || dst.type === GROUP_TYPE || blocks[src.type]?.is_group || blocks[dst.type]?.is_group) {
    return 'connect the blocks inside a transformer block, not the block itself';
  }
  const outs = handlesFor(src.type, blocks[src.type]).outputs;
  const ins = handlesFor(dst.type, blocks[dst.type]).inputs;
  const sh = c.sourceHandle ?? (outs.length === 1 ? outs[0] : null);
  const th = c.targetHandle ?? (ins.length === 1 ? ins[0] : null);
  if (!sh || !outs.includes(sh)) {
    return `a ${src.type} block has no output "${c.sourceHandle ?? ''}"`;
  }
  if (!th || !ins.includes(th)) {
    return `a ${dst.type} block has no input "${c.targetHandle ?? ''}"`;
  }
  const taken = graph.edges.some(
    e => e.target === c.target && (e.targetHandle ?? (ins.length === 1 ? ins[0] : null)) === th
  );
  if (taken) {
    return 'that input is already connected';
  }
  if (src.type === TOKEN_SOURCE && dst.type !== TOKEN_READER) {
    return 'token ids go into a token embedding';
  }
  if (dst.type === TOKEN_READER && src.type !== TOKEN_SOURCE) {
    return 'a token embedding reads the token input';
  }
  if (dst.type === 'logits' && !LOGIT_PRODUCERS.includes(src.type)) {
    return 'the logits come from an LM head (or a linear layer to the vocabulary)';
  }
  if (reaches(graph, c.target, c.source)) {
    return 'that connection would make a cycle';
  }
  return null;
}

export function edgeId(c: Connection): string {
  return `e_${c.source}${c.sourceHandle ? `.${c.sourceHandle}` : ''}_${c.target}${
    c.targetHandle ? `.${c.targetHandle}` : ''
  }`;
}

export function connect(
  graph: Graph,
  c: Connection,
  blocks: Record<string, (Partial<Handles> & { is_group?: boolean }) | undefined> = {}
): Graph {
  if (connectionProblem(graph, c, blocks)) {
    return graph;
  }
  const e: GraphEdge = { id: edgeId(c), source: c.source!, target: c.target! };
  if (c.sourceHandle) {
    e.sourceHandle = c.sourceHandle;
  }
  if (c.targetHandle) {
    e.targetHandle = c.targetHandle;
  }
  let id = e.id;
  for (let i = 2; graph.edges.some(x => x.id === id); i++) {
    id = `${e.id}_${i}`;
  }
  return { ...graph, edges: [...graph.edges, { ...e, id }] };
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
  if (RESERVED_TYPES.includes(type)) {
    throw new Error(`"${type}" is a React Flow reserved node type, not a block type`);
  }
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
  size: { width: number; height: number } = DEFAULT_NODE_SIZE
): XYPosition {
  const boxes = graph.nodes
    .filter(n => n.type !== GROUP_TYPE)
    .map(n => ({ ...absolutePosition(graph, n.id), ...DEFAULT_NODE_SIZE }));
  const groups = graph.nodes
    .filter(n => n.type === GROUP_TYPE)
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
export function reparent(graph: Graph, id: string, parentId: string | null): Graph {
  const node = graph.nodes.find(n => n.id === id);
  if (!node || (node.parentId ?? null) === parentId || id === parentId) {
    return graph;
  }
  if (parentId) {
    const parent = graph.nodes.find(n => n.id === parentId);
    if (!parent || node.type === GROUP_TYPE) {
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
export function groupAt(graph: Graph, p: XYPosition, exclude?: string): string | null {
  let found: string | null = null;
  const others = exclude ? graph.nodes.filter(n => n.id !== exclude) : graph.nodes;
  for (const n of graph.nodes) {
    if (n.type !== GROUP_TYPE || n.id === exclude) {
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
