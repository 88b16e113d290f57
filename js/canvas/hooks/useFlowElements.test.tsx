// @vitest-environment happy-dom
import { act, renderHook } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { addBlock, Graph, moveNodes } from '../graph';
import { BLOCKS, design } from './testGraph';
import { useFlowElements } from './useFlowElements';

function setup(initial: Graph = design()) {
  return renderHook(({ graph }) => useFlowElements(graph, BLOCKS), { initialProps: { graph: initial } });
}

describe('useFlowElements', () => {
  it('derives React Flow nodes and edges from the graph, parents first', () => {
    const { result } = setup();
    const ids = result.current.nodes.map(n => n.id);
    expect(ids.indexOf('block')).toBeLessThan(ids.indexOf('norm'));
    expect(result.current.nodes.find(n => n.id === 'attn')?.parentId).toBe('block');
    expect(result.current.edges).toHaveLength(7);
  });

  it('keeps selection and measured sizes when the graph changes', () => {
    const g = design();
    const { result, rerender } = setup(g);
    act(() =>
      result.current.onNodesChange([
        { type: 'select', id: 'attn', selected: true },
        { type: 'dimensions', id: 'attn', dimensions: { width: 200, height: 90 } }
      ])
    );
    rerender({ graph: moveNodes(g, [{ id: 'head', position: { x: 300, y: 600 } }]) });
    const attn = result.current.nodes.find(n => n.id === 'attn')!;
    expect(attn.selected).toBe(true);
    expect(attn.measured).toEqual({ width: 200, height: 90 });
    expect(result.current.nodes.find(n => n.id === 'head')?.position).toEqual({ x: 300, y: 600 });
  });

  it('a viewport-only change re-derives nothing', () => {
    const g = design();
    const { result, rerender } = setup(g);
    const before = result.current.nodes;
    rerender({ graph: { ...g, viewport: { x: 5, y: 5, zoom: 0.8 } } });
    expect(result.current.nodes).toBe(before);
  });

  it('selectOnly selects a block that the next graph adds', () => {
    const g = design();
    const { result, rerender } = setup(g);
    act(() => result.current.onNodesChange([{ type: 'select', id: 'attn', selected: true }]));
    const { graph: next, id } = addBlock(g, 'dropout', { x: 0, y: 0 });
    act(() => result.current.selectOnly([id]));
    rerender({ graph: next });
    expect(result.current.nodes.filter(n => n.selected).map(n => n.id)).toEqual([id]);
    // existing ids are selected at once
    act(() => result.current.selectOnly(['head', 'logits']));
    expect(result.current.nodes.filter(n => n.selected).map(n => n.id)).toEqual(['head', 'logits']);
  });

  it('drag frames move nodes locally and group boxes follow their children', () => {
    const { result } = setup();
    const groupWidth = () => Number(result.current.nodes.find(n => n.id === 'block')?.style?.width);
    const before = groupWidth();
    act(() => result.current.onNodesChange([{ type: 'position', id: 'attn', position: { x: 400, y: 150 } }]));
    expect(result.current.nodes.find(n => n.id === 'attn')?.position).toEqual({ x: 400, y: 150 });
    expect(groupWidth()).toBeGreaterThan(before);
    expect(result.current.currentNodes()).toBe(result.current.nodes);
  });
});
