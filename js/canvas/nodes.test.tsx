// @vitest-environment happy-dom
import { act, cleanup, render } from '@testing-library/react';
import { ReactFlow, ReactFlowProvider } from '@xyflow/react';
import React from 'react';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { FlowNode, toFlowNodes } from './graph';
import { nodeTypesFor } from './nodes';
import { CanvasStoreContext, createCanvasStore, indexBlocks } from './store';
import type { Analysis, Catalog, CatalogBlock } from './types';

beforeAll(() => {
  // React Flow measures nodes with ResizeObserver; happy-dom's never reports, which is enough here
  globalThis.ResizeObserver ??= class {
    observe() {}
    unobserve() {}
    disconnect() {}
  } as unknown as typeof ResizeObserver;
});
afterEach(cleanup);

const block = (type: string, title: string, inputs: string[], outputs: string[], extra: Partial<CatalogBlock> = {}) =>
  ({ type, title, category: 'c', inputs, outputs, is_group: false, schema: {}, docs: {}, ...extra }) as CatalogBlock;

const CATALOG: Catalog = {
  blocks: [
    block('add', 'Add (residual)', ['a', 'b'], ['out'], { color: '#123456' }),
    block('attention', 'Causal self-attention', ['in'], ['out']),
    block('logits', 'Logits output', ['in'], []),
    block('transformerBlock', 'Transformer block', [], [], { is_group: true })
  ]
};

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
});

function show(analysis: Analysis, nodes: FlowNode[] = NODES) {
  const store = createCanvasStore({ catalog: CATALOG, blocks: indexBlocks(CATALOG), analysis });
  const types = nodeTypesFor(CATALOG.blocks!.map(b => b.type), ['transformerBlock']);
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

const ANALYSIS: Analysis = {
  ok: true,
  nodes: { attn: { shape: ['B', 'T', 64], params: 16384 }, blk: { params: 98304 } },
  errors: []
};

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
    const { node, store } = show({
      ok: false,
      errors: [
        { node_id: 'add', field: null, message: 'input b is not connected' },
        { node_id: 'add', field: 'x', message: 'second problem' }
      ]
    });
    const add = node('add');
    expect(add.className).toContain('sdl-node-error');
    expect(add.getAttribute('title')).toBe('input b is not connected\nx: second problem');
    expect(add.querySelector('[role="alert"]')?.textContent).toContain('input b is not connected');
    expect(node('attn').className).not.toContain('sdl-node-error');
    act(() => store.setState({ analysis: ANALYSIS }));
    expect(node('add').className).not.toContain('sdl-node-error');
    expect(node('add').getAttribute('title')).toBeNull();
  });
});
