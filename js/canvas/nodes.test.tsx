// @vitest-environment happy-dom
import { act, cleanup, render } from '@testing-library/react';
import { ReactFlow, ReactFlowProvider } from '@xyflow/react';
import React from 'react';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { FlowNode, toFlowNodes } from './graph';
import { nodeTypesFor } from './nodes';
import { CanvasStoreContext, createCanvasStore, indexBlocks } from './store';
import { analysis as full, block, catalogWith, nodeAnalysis } from '../shared/testing/catalog';
import type { AnalysisResult } from './types';

beforeAll(() => {
  // React Flow measures nodes with ResizeObserver; happy-dom's never reports, which is enough here
  globalThis.ResizeObserver ??= class {
    observe() {}
    unobserve() {}
    disconnect() {}
  } as unknown as typeof ResizeObserver;
});
afterEach(cleanup);

const CATALOG = catalogWith([
  block('add', { color: '#123456' }),
  block('attention'),
  block('logits'),
  block('transformerBlock')
]);
const BLOCKS = indexBlocks(CATALOG);

const NODES = toFlowNodes({
  version: 1,
  viewport: { x: 0, y: 0, zoom: 1 },
  edges: [],
  nodes: [
    { id: 'blk', type: 'transformerBlock', position: { x: 0, y: 0 }, data: { repeat: 6, share_weights: true } },
    { id: 'attn', type: 'attention', position: { x: 20, y: 60 }, data: { n_heads: 4, rope: true, qk_norm: false }, parentId: 'blk' },
    { id: 'add', type: 'add', position: { x: 300, y: 0 }, data: {} },
    { id: 'logits', type: 'logits', position: { x: 300, y: 200 }, data: {} }
  ]
}, BLOCKS);

function show(analysis: AnalysisResult, nodes: FlowNode[] = NODES) {
  const store = createCanvasStore({ catalog: CATALOG, blocks: BLOCKS, analysis });
  const types = nodeTypesFor(BLOCKS);
  const view = render(
    <CanvasStoreContext.Provider value={store}>
      <ReactFlowProvider>
        <div style={{ width: 800, height: 600 }}>
          <ReactFlow nodes={nodes} edges={[]} nodeTypes={types} />
        </div>
      </ReactFlowProvider>
    </CanvasStoreContext.Provider>
  );
  const node = (id: string) => view.container.querySelector(`.sdl-node[data-node-id="${id}"], .sdl-group-box[data-node-id="${id}"]`)!;
  return { ...view, store, node };
}

const ANALYSIS = full({
  nodes: {
    attn: nodeAnalysis('attn', 'attention', { shape: ['B', 'T', 64], params: 16384 }),
    blk: nodeAnalysis('blk', 'transformerBlock', { params: 98304 })
  }
});

describe('BlockNode and GroupNode', () => {
  it("shows the block's title, a summary of its settings, its output shape and parameters", () => {
    const { node } = show(ANALYSIS);
    const attn = node('attn');
    expect(attn.querySelector('.sdl-node-title')?.textContent).toBe('Causal self-attention');
    expect(attn.querySelector('.sdl-node-summary')?.textContent).toBe('n_heads=4 · rope=true');
    expect(attn.querySelector('.sdl-node-shape')?.textContent).toBe('B × T × 64');
    expect(attn.querySelector('.sdl-node-params')?.textContent).toBe('16.4K params');
    const group = node('blk');
    expect(group.querySelector('.sdl-group-title')?.textContent).toBe('Transformer block');
    expect(group.querySelector('.sdl-group-repeat')?.textContent).toBe('× 6');
    expect(group.textContent).toContain('shared weights');
  });

  it("has one handle per catalogue input and output, named as the catalogue names them", () => {
    const { node } = show(ANALYSIS);
    const ids = (id: string, kind: string) =>
      [...node(id).querySelectorAll(`.react-flow__handle.${kind}`)].map(h => h.getAttribute('data-handleid'));
    expect(ids('add', 'target')).toEqual(['a', 'b']);
    expect(ids('add', 'source')).toEqual(['out']);
    expect(ids('logits', 'target')).toEqual(['in']);
    expect(ids('logits', 'source')).toEqual([]);
    expect((node('add') as HTMLElement).style.borderLeftColor).toBe('#123456');
  });

  it('marks a block with problems and names them; fixing the design clears the mark', () => {
    const { node, store } = show(full({
      ok: false,
      errors: [
        { node_id: 'add', field: null, message: 'input b is not connected', message_ko: null },
        { node_id: 'add', field: 'x', message: 'second problem', message_ko: null }
      ]
    }));
    const add = node('add');
    expect(add.className).toContain('sdl-node-error');
    expect(add.getAttribute('title')).toBe('input b is not connected\nx: second problem');
    // a badge, not lines of text: the block keeps its size; the full text is on hover
    const badge = add.querySelector('.sdl-node-badge')!;
    expect(badge.textContent).toBe('⚠ 2');
    expect(badge.getAttribute('title')).toBe('input b is not connected\nx: second problem');
    expect(add.textContent).not.toContain('input b is not connected');
    expect(node('attn').className).not.toContain('sdl-node-error');
    act(() => store.setState({ analysis: ANALYSIS }));
    expect(node('add').className).not.toContain('sdl-node-error');
    expect(node('add').getAttribute('title')).toBeNull();
    expect(node('add').querySelector('.sdl-node-badge')).toBeNull();
  });
});

describe('node types', () => {
  it('every block type of the real catalogue has a node component; its groups draw as groups', async () => {
    const { BLOCKS: REAL } = await import('../shared/testing/catalog');
    const { BlockNode, GroupNode } = await import('./nodes');
    const types = nodeTypesFor(REAL);
    expect(Object.keys(types).sort()).toEqual(Object.keys(REAL).sort());
    for (const [type, b] of Object.entries(REAL)) {
      expect(types[type]).toBe(b.role === 'group' ? GroupNode : BlockNode);
    }
    expect(nodeTypesFor(REAL)).toBe(types); // the same object for the same catalogue
  });
});
