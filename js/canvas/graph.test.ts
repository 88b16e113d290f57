import { describe, expect, it } from 'vitest';

import {
  addBlock,
  absolutePosition,
  connect,
  connectionProblem,
  edgeId,
  fitGroups,
  freeSpot,
  Graph,
  graphBounds,
  groupAt,
  groupSize,
  handlesFor,
  moveNodes,
  normalizeGraph,
  READABLE_ZOOM,
  readableViewport,
  removeElements,
  reparent,
  sortParentsFirst,
  stripRF,
  toFlowEdges,
  toFlowNodes,
  uniqueNodeId,
  updateNodeData,
  withViewport
} from './graph';
import { EDGE_ID_EXAMPLES, REACT_FLOW_FIELDS } from '../shared/contract';
import { BLOCKS } from '../shared/testing/catalog';

function sample(): Graph {
  return {
    version: 1,
    viewport: { x: 0, y: 0, zoom: 1 },
    nodes: [
      { id: 'ln', type: 'layerNorm', position: { x: 20, y: 40 }, data: { eps: 1e-5 }, parentId: 'blk' },
      { id: 'tok', type: 'tokens', position: { x: 0, y: 0 }, data: { context: 64 } },
      { id: 'blk', type: 'transformerBlock', position: { x: -40, y: 100 }, data: { repeat: 2 } },
      { id: 'out', type: 'logits', position: { x: 0, y: 400 }, data: {} }
    ],
    edges: [
      { id: 'e1', source: 'tok', target: 'ln', sourceHandle: 'out', targetHandle: 'in' },
      { id: 'e2', source: 'ln', target: 'out', sourceHandle: 'out', targetHandle: 'in' }
    ]
  };
}

describe('graph ⇄ React Flow', () => {
  it('puts parents before children', () => {
    const order = sortParentsFirst(sample().nodes).map(n => n.id);
    expect(order.indexOf('blk')).toBeLessThan(order.indexOf('ln'));
    expect(order).toHaveLength(4);
  });

  it('survives parent cycles and missing parents', () => {
    const nodes = [
      { id: 'a', parentId: 'b' },
      { id: 'b', parentId: 'a' },
      { id: 'c', parentId: 'zzz' }
    ];
    expect(sortParentsFirst(nodes).map(n => n.id).sort()).toEqual(['a', 'b', 'c']);
  });

  it('derives nodes keeping selection and measured size of previous nodes', () => {
    const first = toFlowNodes(sample(), BLOCKS);
    const prev = first.map(n =>
      n.id === 'tok' ? { ...n, selected: true, measured: { width: 100, height: 40 } } : n
    );
    const again = toFlowNodes(sample(), BLOCKS, prev);
    const tok = again.find(n => n.id === 'tok')!;
    expect(tok.selected).toBe(true);
    expect(tok.measured).toEqual({ width: 100, height: 40 });
    const blk = again.find(n => n.id === 'blk')!;
    expect(blk.style?.width).toBeGreaterThan(0);
    expect(blk.dragHandle).toBe('.sdl-group-header');
    expect(again.find(n => n.id === 'ln')!.parentId).toBe('blk');
  });

  it('derives edges with handles', () => {
    const edges = toFlowEdges(sample());
    expect(edges[0]).toEqual({ id: 'e1', source: 'tok', target: 'ln', sourceHandle: 'out', targetHandle: 'in' });
  });

  it('strips React Flow run-time fields', () => {
    const n = { id: 'x', measured: { width: 1 }, selected: true, dragging: false, width: 3, height: 4, data: {} };
    const s = stripRF(n);
    for (const k of REACT_FLOW_FIELDS) {
      expect(k in s).toBe(false);
    }
    expect(s).toEqual({ id: 'x', data: {} });
  });

  it('moves nodes, rounding, without touching the others', () => {
    const g = sample();
    const moved = moveNodes(g, [{ id: 'tok', position: { x: 10.123, y: -5.06 } }]);
    expect(moved.nodes.find(n => n.id === 'tok')!.position).toEqual({ x: 10.1, y: -5.1 });
    expect(moved.nodes.find(n => n.id === 'out')).toBe(g.nodes.find(n => n.id === 'out'));
    expect(moveNodes(g, [{ id: 'nope', position: { x: 0, y: 0 } }])).toBe(g);
  });

  it('normalizes junk', () => {
    expect(normalizeGraph(null)).toEqual({ version: 1, nodes: [], edges: [], viewport: { x: 0, y: 0, zoom: 1 } });
    expect(normalizeGraph({ nodes: 'x', name: 'keep' }).name).toBe('keep');
  });
});

describe('groups', () => {
  it('sizes a group around its children', () => {
    const nodes = [
      { id: 'g', position: { x: 0, y: 0 } },
      { id: 'a', parentId: 'g', position: { x: 20, y: 300 }, measured: { width: 100, height: 50 } }
    ];
    expect(groupSize('g', nodes)).toEqual({ width: 280, height: 374 });
  });

  it('ignores children being dragged', () => {
    const nodes = [
      { id: 'g', position: { x: 0, y: 0 } },
      { id: 'a', parentId: 'g', position: { x: 900, y: 900 }, dragging: true }
    ];
    expect(groupSize('g', nodes)).toEqual({ width: 280, height: 120 });
  });

  it('keeps identity when sizes are unchanged', () => {
    const nodes = toFlowNodes(sample(), BLOCKS);
    expect(fitGroups(nodes, BLOCKS)).toBe(nodes);
  });
});

describe('edits', () => {
  it('refuses self loops, unknown nodes and taken inputs', () => {
    const g = sample();
    expect(connectionProblem(g, { source: 'tok', target: 'tok' }, BLOCKS)).toBe('A block cannot feed itself.');
    expect(connectionProblem(g, { source: 'tok', target: 'x' }, BLOCKS)).toBe('That block is not in the design.');
    expect(connectionProblem(g, { source: 'tok', target: 'out', targetHandle: 'in' }, BLOCKS)).toBe(
      'Input “in” of Logits output is already connected; delete that wire first.'
    );
    expect(connectionProblem(g, { source: 'tok', target: 'blk', targetHandle: null }, BLOCKS)).toBe(
      'Connect the blocks inside the Transformer block, not the Transformer block itself.'
    );
  });

  it('connects with a unique id', () => {
    const s = sample();
    s.nodes[3] = { ...s.nodes[3], type: 'dropout' }; // (logits only take an LM head)
    const g = removeElements(s, [], ['e2']);
    const c = connect(g, { source: 'ln', target: 'out', sourceHandle: 'out', targetHandle: 'in' }, BLOCKS);
    expect(c.edges).toHaveLength(2);
    expect(c.edges[1]).toMatchObject({ source: 'ln', target: 'out', sourceHandle: 'out', targetHandle: 'in' });
    expect(connect(c, { source: 'ln', target: 'out', targetHandle: 'in' }, BLOCKS)).toBe(c);
    expect(c.edges[1].id).toBe('e-ln-out');
  });

  it('removes a group with its children and their edges', () => {
    const g = removeElements(sample(), ['blk']);
    expect(g.nodes.map(n => n.id).sort()).toEqual(['out', 'tok']);
    expect(g.edges).toEqual([]);
  });

  it('adds blocks with unique ids', () => {
    const { graph, id } = addBlock(sample(), 'layerNorm', { x: 1, y: 2 }, { eps: 1e-6 }, 'blk');
    expect(id).toBe('layer_norm_1');
    expect(graph.nodes.at(-1)).toEqual({ id, type: 'layerNorm', position: { x: 1, y: 2 }, data: { eps: 1e-6 }, parentId: 'blk' });
    expect(uniqueNodeId(graph, 'layerNorm')).toBe('layer_norm_2');
  });

  it('updates node data immutably', () => {
    const g = sample();
    const u = updateNodeData(g, 'blk', { repeat: 6 });
    expect(u.nodes.find(n => n.id === 'blk')!.data).toEqual({ repeat: 6 });
    expect(g.nodes.find(n => n.id === 'blk')!.data).toEqual({ repeat: 2 });
  });

  it('computes absolute positions through parents', () => {
    expect(absolutePosition(sample(), 'ln')).toEqual({ x: -20, y: 140 });
  });

  it("reads each block's handles from the catalogue", () => {
    expect(handlesFor('tokens', BLOCKS)).toEqual({ inputs: [], outputs: ['out'] });
    expect(handlesFor('logits', BLOCKS)).toEqual({ inputs: ['in'], outputs: [] });
    expect(handlesFor('add', BLOCKS)).toEqual({ inputs: ['a', 'b'], outputs: ['out'] });
    expect(handlesFor('attention', BLOCKS)).toEqual({ inputs: ['in'], outputs: ['out'] });
    // a type the catalogue does not know (yet) gets one input and one output
    expect(handlesFor('somethingNew', BLOCKS)).toEqual({ inputs: ['in'], outputs: ['out'] });
  });

  it("writes edge ids as Python does", () => {
    for (const [source, sourceHandle, target, targetHandle, id] of EDGE_ID_EXAMPLES) {
      expect(edgeId({ source, sourceHandle, target, targetHandle })).toBe(id);
    }
  });
});

describe('freeSpot', () => {
  it('keeps a free preferred spot', () => {
    expect(freeSpot(sample(), { x: 1000, y: 1000 }, BLOCKS)).toEqual({ x: 1000, y: 1000 });
  });
  it('moves off occupied spots, including group boxes', () => {
    const g = sample();
    const p = freeSpot(g, { x: 0, y: 0 }, BLOCKS);
    expect(p).not.toEqual({ x: 0, y: 0 });
    const q = freeSpot(g, { x: -30, y: 150 }, BLOCKS); // inside the group box
    const box = groupSize('blk', g.nodes);
    const inside = q.x < -40 + box.width && q.x + 176 > -40 && q.y < 100 + box.height && q.y + 64 > 100;
    expect(inside).toBe(false);
  });
});

describe('viewport', () => {
  it('rounds and keeps identity for negligible changes', () => {
    const g = sample();
    expect(withViewport(g, { x: 0.2, y: -0.4, zoom: 1.0001 })).toBe(g);
    expect(withViewport(g, { x: 10.6, y: 3, zoom: 0.51234 }).viewport).toEqual({ x: 11, y: 3, zoom: 0.512 });
  });
});

describe('reparent', () => {
  it('moves a node into a group keeping its absolute position', () => {
    const g = reparent(sample(), 'out', 'blk', BLOCKS);
    const out = g.nodes.find(n => n.id === 'out')!;
    expect(out.parentId).toBe('blk');
    expect(out.position).toEqual({ x: 40, y: 300 });
    expect(absolutePosition(g, 'out')).toEqual({ x: 0, y: 400 });
    const order = g.nodes.map(n => n.id);
    expect(order.indexOf('blk')).toBeLessThan(order.indexOf('out'));
  });

  it('moves a child out of its group', () => {
    const g = reparent(sample(), 'ln', null, BLOCKS);
    const ln = g.nodes.find(n => n.id === 'ln')!;
    expect('parentId' in ln).toBe(false);
    expect(ln.position).toEqual({ x: -20, y: 140 });
  });

  it('refuses nesting groups, cycles and no-ops', () => {
    const g = sample();
    expect(reparent(g, 'blk', 'blk', BLOCKS)).toBe(g);
    expect(reparent(g, 'ln', 'blk', BLOCKS)).toBe(g);
    expect(reparent(g, 'nope', 'blk', BLOCKS)).toBe(g);
    const two = addBlock(g, 'transformerBlock', { x: 500, y: 0 }).graph;
    expect(reparent(two, 'blk', 'transformer_block_1', BLOCKS)).toBe(two);
  });

  it('finds the group under a point', () => {
    expect(groupAt(sample(), { x: 0, y: 150 }, BLOCKS)).toBe('blk');
    expect(groupAt(sample(), { x: 0, y: 10 }, BLOCKS)).toBeNull();
    expect(groupAt(sample(), { x: 0, y: 150 }, BLOCKS, 'blk')).toBeNull();
    // a child far below the box only counts for the box's size when it is not the one dropped
    const far = moveNodes(sample(), [{ id: 'ln', position: { x: 20, y: 900 } }]);
    expect(groupAt(far, { x: 0, y: 1000 }, BLOCKS)).toBe('blk');
    expect(groupAt(far, { x: 0, y: 1000 }, BLOCKS, 'ln')).toBeNull();
  });
});

describe('a readable view', () => {
  it('measures the design, groups included', () => {
    expect(graphBounds(normalizeGraph({}), BLOCKS)).toBeNull();
    const b = graphBounds(sample(), BLOCKS)!;
    expect(b.x).toBe(-40); // the group's left edge
    expect(b.y).toBe(0);
    expect(b.y + b.height).toBe(464); // the logits block at y=400, 64 high
  });

  it('never zooms in past 1×, and shows a tall design from its top at a readable zoom', () => {
    const small = readableViewport({ x: 0, y: 0, width: 176, height: 64 }, { width: 800, height: 600 });
    expect(small.zoom).toBe(1); // one block does not fill the screen at 2×
    const tall = readableViewport({ x: 0, y: 0, width: 400, height: 3000 }, { width: 800, height: 600 });
    expect(tall.zoom).toBe(READABLE_ZOOM.min);
    expect(tall.y).toBe(24); // the top of the design at the top of the view
    expect(tall.x).toBe(Math.round((800 - 400 * READABLE_ZOOM.min) / 2));
    const fits = readableViewport({ x: 100, y: 100, width: 700, height: 700 }, { width: 800, height: 600 });
    expect(fits.zoom).toBeGreaterThanOrEqual(READABLE_ZOOM.min);
    expect(fits.zoom).toBeLessThan(1);
  });
});
