import { describe, expect, it } from 'vitest';

import { copyFragment, isFragment, pasteFragment } from './clipboard';
import { connectionProblem, Graph } from './graph';
import { createHistory, record, redo, undo } from './history';
import { autoLayout, longestPathLayers } from './layout';
import { BLOCKS } from '../shared/testing/catalog';

/** tokens → tok_emb → [block: ln → attn → add(a: tok_emb, b: attn)] → head → logits */
function design(): Graph {
  return {
    version: 1,
    viewport: { x: 0, y: 0, zoom: 1 },
    nodes: [
      { id: 'tokens', type: 'tokens', position: { x: 500, y: 900 }, data: { context: 64 } },
      { id: 'tok_emb', type: 'tokenEmbedding', position: { x: 0, y: 0 }, data: { d_model: 64 } },
      { id: 'block', type: 'transformerBlock', position: { x: 7, y: 7 }, data: { repeat: 2 } },
      { id: 'ln', type: 'layerNorm', position: { x: 300, y: 0 }, data: {}, parentId: 'block' },
      { id: 'attn', type: 'attention', position: { x: 0, y: 0 }, data: { n_heads: 4 }, parentId: 'block' },
      { id: 'add', type: 'add', position: { x: 0, y: 0 }, data: {}, parentId: 'block' },
      { id: 'head', type: 'lmHead', position: { x: 0, y: 0 }, data: {} },
      { id: 'logits', type: 'logits', position: { x: 0, y: 0 }, data: {} }
    ],
    edges: [
      { id: 'e1', source: 'tokens', target: 'tok_emb', sourceHandle: 'out', targetHandle: 'in' },
      { id: 'e2', source: 'tok_emb', target: 'ln', sourceHandle: 'out', targetHandle: 'in' },
      { id: 'e3', source: 'ln', target: 'attn', sourceHandle: 'out', targetHandle: 'in' },
      { id: 'e4', source: 'tok_emb', target: 'add', sourceHandle: 'out', targetHandle: 'a' },
      { id: 'e5', source: 'attn', target: 'add', sourceHandle: 'out', targetHandle: 'b' },
      { id: 'e6', source: 'add', target: 'head', sourceHandle: 'out', targetHandle: 'in' },
      { id: 'e7', source: 'head', target: 'logits', sourceHandle: 'out', targetHandle: 'in' }
    ]
  };
}

function withDropout(g: Graph): Graph {
  return { ...g, nodes: [...g.nodes, { id: 'drop', type: 'dropout', position: { x: 0, y: 0 }, data: {} }] };
}

describe('connection checks', () => {
  it('refuses cycles', () => {
    const g = withDropout(design());
    expect(connectionProblem(g, { source: 'head', target: 'drop', sourceHandle: 'out', targetHandle: 'in' }, BLOCKS)).toBeNull();
    const h = { ...g, edges: [...g.edges, { id: 'x', source: 'head', target: 'drop', sourceHandle: 'out', targetHandle: 'in' }] };
    // drop → ln would close head → drop → ln → attn → add → head; ln's input is taken anyway, so use add.a's
    const free = { ...h, edges: h.edges.filter(e => e.id !== 'e2') };
    expect(connectionProblem(free, { source: 'drop', target: 'ln', sourceHandle: 'out', targetHandle: 'in' }, BLOCKS)).toMatch(/cycle/);
    expect(connectionProblem(free, { source: 'tok_emb', target: 'ln', sourceHandle: 'out', targetHandle: 'in' }, BLOCKS)).toBeNull();
  });

  it('keeps one edge per input, and checks handle names from the catalogue', () => {
    const g = withDropout(design());
    expect(connectionProblem(g, { source: 'drop', target: 'add', sourceHandle: 'out', targetHandle: 'b' }, BLOCKS)).toMatch(/already/);
    expect(connectionProblem(g, { source: 'drop', target: 'add', sourceHandle: 'out', targetHandle: 'c' }, BLOCKS)).toMatch(/^Add \(residual\) has no input “c”; its inputs are “a”, “b”\.$/);
    expect(connectionProblem(g, { source: 'drop', target: 'head', sourceHandle: 'nope', targetHandle: 'in' }, BLOCKS)).toMatch(/no output/);
  });

  it('applies the token and logits rules', () => {
    const g = withDropout({ ...design(), edges: design().edges.filter(e => !['e1', 'e7'].includes(e.id)) });
    expect(connectionProblem(g, { source: 'tokens', target: 'drop', sourceHandle: 'out', targetHandle: 'in' }, BLOCKS)).toBe('Token input gives token ids, which only Token embedding can read.');
    expect(connectionProblem(g, { source: 'drop', target: 'tok_emb', sourceHandle: 'out', targetHandle: 'in' }, BLOCKS)).toBe('Token embedding reads token ids: connect Token input to it.');
    expect(connectionProblem(g, { source: 'tokens', target: 'tok_emb', sourceHandle: 'out', targetHandle: 'in' }, BLOCKS)).toBeNull();
    expect(connectionProblem(g, { source: 'drop', target: 'logits', sourceHandle: 'out', targetHandle: 'in' }, BLOCKS)).toBe('Logits output takes scores over the vocabulary: connect Linear or LM head to it.');
    expect(connectionProblem(g, { source: 'head', target: 'logits', sourceHandle: 'out', targetHandle: 'in' }, BLOCKS)).toBeNull();
    expect(connectionProblem(g, { source: 'drop', target: 'block', sourceHandle: 'out', targetHandle: null }, BLOCKS)).toMatch(/inside/);
  });
});

describe('undo history', () => {
  it('undoes and redoes committed states in order', () => {
    let h = createHistory<string>(10);
    h = record(h, 'a'); // a → b
    h = record(h, 'b'); // b → c
    const u1 = undo(h, 'c')!;
    expect(u1.state).toBe('b');
    const u2 = undo(u1.history, 'b')!;
    expect(u2.state).toBe('a');
    expect(undo(u2.history, 'a')).toBeNull();
    const r1 = redo(u2.history, 'a')!;
    expect(r1.state).toBe('b');
    // a new edit after an undo drops the redo stack
    const fresh = record(r1.history, 'b');
    expect(redo(fresh, 'x')).toBeNull();
  });

  it('is bounded', () => {
    let h = createHistory<number>(3);
    for (let i = 0; i < 10; i++) {
      h = record(h, i);
    }
    expect(h.past).toEqual([7, 8, 9]);
  });
});

describe('copy and paste', () => {
  it('copies selected nodes with their internal edges and remaps ids', () => {
    const g = design();
    const frag = copyFragment(g, ['ln', 'attn'])!;
    expect(isFragment(JSON.parse(JSON.stringify(frag)))).toBe(true);
    expect(frag.nodes.map(n => n.id)).toEqual(['ln', 'attn']);
    expect(frag.edges.map(e => e.id)).toEqual(['e3']); // only the edge between them
    const { graph, ids } = pasteFragment(g, frag, BLOCKS, { x: 40, y: 40 });
    expect(ids).toEqual(['layer_norm_1', 'attention_1']);
    const pasted = graph.nodes.slice(-2);
    expect(pasted.map(n => n.parentId)).toEqual(['block', 'block']); // parent still exists: kept
    expect(pasted[0].position).toEqual({ x: 340, y: 40 });
    const e = graph.edges.at(-1)!;
    expect([e.source, e.target]).toEqual(['layer_norm_1', 'attention_1']);
    expect(new Set(graph.edges.map(x => x.id)).size).toBe(graph.edges.length);
    expect(new Set(graph.nodes.map(x => x.id)).size).toBe(graph.nodes.length);
    // pasting twice gives new ids again, and data is not shared
    const again = pasteFragment(graph, frag, BLOCKS);
    expect(again.ids).toEqual(['layer_norm_2', 'attention_2']);
    again.graph.nodes.at(-1)!.data.n_heads = 99;
    expect(g.nodes.find(n => n.id === 'attn')!.data.n_heads).toBe(4);
  });

  it('copies a group with its children, children stay relative', () => {
    const g = design();
    const frag = copyFragment(g, ['block'])!;
    expect(frag.nodes.map(n => n.id)).toEqual(['block', 'ln', 'attn', 'add']);
    const { graph, ids } = pasteFragment(g, frag, BLOCKS);
    expect(ids[0]).toBe('transformer_block_1');
    const kids = graph.nodes.filter(n => n.parentId === 'transformer_block_1');
    expect(kids).toHaveLength(3);
    expect(kids.find(k => k.type === 'layerNorm')!.position).toEqual({ x: 300, y: 0 });
    expect(graph.nodes.findIndex(n => n.id === 'transformer_block_1')).toBeLessThan(
      graph.nodes.findIndex(n => n.parentId === 'transformer_block_1')
    );
    expect(copyFragment(g, [])).toBeNull();
  });
});

describe('auto layout', () => {
  it('layers by longest path', () => {
    const l = longestPathLayers(['a', 'b', 'c', 'd'], [
      ['a', 'b'],
      ['b', 'c'],
      ['a', 'c'],
      ['c', 'a'] // a cycle edge is ignored
    ]);
    expect([l.get('a'), l.get('b'), l.get('c'), l.get('d')]).toEqual([0, 1, 2, 0]);
  });

  it('places the design top to bottom with the group laid out inside', () => {
    const g = autoLayout(design(), BLOCKS);
    const pos = (id: string) => g.nodes.find(n => n.id === id)!.position;
    // top level: tokens above tok_emb above block above head above logits
    const ys = ['tokens', 'tok_emb', 'block', 'head', 'logits'].map(id => pos(id).y);
    expect([...ys].sort((a, b) => a - b)).toEqual(ys);
    expect(new Set(ys).size).toBe(5);
    // inside the group (relative positions): ln above attn above add, below the header
    expect(pos('ln').y).toBeGreaterThanOrEqual(44);
    expect(pos('ln').y).toBeLessThan(pos('attn').y);
    expect(pos('attn').y).toBeLessThan(pos('add').y);
    // the block below tok_emb leaves room for a node
    expect(pos('block').y - pos('tok_emb').y).toBeGreaterThanOrEqual(64);
    // the head is below the whole group
    expect(pos('head').y).toBeGreaterThan(pos('block').y + pos('add').y + 64);
    // idempotent
    expect(autoLayout(g, BLOCKS).nodes.map(n => n.position)).toEqual(g.nodes.map(n => n.position));
  });
});

describe('auto layout of a half-wired design', () => {
  it('puts blocks that are not wired yet in a column beside the design, not in its first row', () => {
    const g = design();
    const loose = ['d1', 'd2', 'd3'].map((id, i) => ({
      id,
      type: 'dropout',
      position: { x: 900 + 7 * i, y: -300 },
      data: {}
    }));
    const laid = autoLayout({ ...g, nodes: [...g.nodes, ...loose] }, BLOCKS);
    const pos = (id: string) => laid.nodes.find(n => n.id === id)!.position;
    const wiredRight = Math.max(...['tokens', 'tok_emb', 'head', 'logits'].map(id => pos(id).x + 176));
    for (const id of ['d1', 'd2', 'd3']) {
      expect(pos(id).x).toBeGreaterThan(wiredRight);
    }
    expect(pos('d1').x).toBe(pos('d3').x); // one column
    expect(pos('d1').y).toBeLessThan(pos('d2').y);
    // the wired design keeps the width it has without them: tokens and logits line up
    expect(pos('tokens').x).toBe(pos('logits').x);
  });
});
