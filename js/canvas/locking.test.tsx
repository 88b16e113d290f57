// @vitest-environment happy-dom
/** Locked blocks (a guided exercise's template): never deleted or changed on the page, free to move. */
import { act, renderHook } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { fakeModel } from '../shared/testing/fakeModel';
import { Graph, lockedChanges, moveNodes, removeElements, toFlowNodes, updateNodeData } from './graph';
import { BLOCKS, design } from './hooks/testGraph';
import { useGraphDocument } from './hooks/useGraphDocument';

function lockedDesign(): Graph {
  const g = design();
  return { ...g, nodes: g.nodes.map(n => (n.id === 'emb' || n.id === 'attn' ? { ...n, locked: true } : n)) };
}

describe('lockedChanges', () => {
  it('allows moving a locked block and editing unlocked ones', () => {
    const g = lockedDesign();
    expect(lockedChanges(g, moveNodes(g, [{ id: 'emb', position: { x: 400, y: 400 } }]))).toEqual([]);
    expect(lockedChanges(g, updateNodeData(g, 'head', { bias: true }))).toEqual([]);
  });

  it('names a locked block that was deleted, changed, reparented or unlocked', () => {
    const g = lockedDesign();
    expect(lockedChanges(g, removeElements(g, ['emb']))).toEqual(['emb']);
    expect(lockedChanges(g, removeElements(g, ['block']))).toEqual(['attn']); // deleting its group takes it along
    expect(lockedChanges(g, updateNodeData(g, 'attn', { n_heads: 8 }))).toEqual(['attn']);
    const unlocked = { ...g, nodes: g.nodes.map(n => (n.id === 'emb' ? { ...n, locked: false } : n)) };
    expect(lockedChanges(g, unlocked)).toEqual(['emb']);
    const moved = { ...g, nodes: g.nodes.map(n => (n.id === 'attn' ? { ...n, parentId: undefined } : n)) };
    expect(lockedChanges(g, moved)).toEqual(['attn']);
  });

  it('marks locked blocks not deletable for React Flow', () => {
    const nodes = toFlowNodes(lockedDesign(), BLOCKS);
    expect(nodes.filter(n => n.deletable === false).map(n => n.id).sort()).toEqual(['attn', 'emb']);
    expect(nodes.find(n => n.id === 'emb')?.className).toContain('sdl-locked');
  });
});

describe('useGraphDocument with a guard', () => {
  it('refuses an edit the guard refuses: nothing is written to Python, and undo still works', () => {
    const model = fakeModel({ graph: lockedDesign() });
    const guard = (next: Graph, before: Graph) => lockedChanges(before, next).length === 0;
    const { result } = renderHook(() => useGraphDocument(model, { guard }));
    const before = result.current.graph;
    let accepted = true;
    act(() => {
      accepted = result.current.commit(removeElements(result.current.current(), ['emb']));
    });
    expect(accepted).toBe(false);
    expect(result.current.graph.nodes.map(n => n.id)).toEqual(before.nodes.map(n => n.id));
    expect(result.current.graph.nodes).not.toBe(before.nodes); // re-derived, so React Flow shows it again
    expect((model.get('graph') as Graph).nodes.some(n => n.id === 'emb')).toBe(true);
    act(() => {
      accepted = result.current.commit(updateNodeData(result.current.current(), 'head', { bias: true }));
    });
    expect(accepted).toBe(true);
    expect((model.get('graph') as Graph).nodes.find(n => n.id === 'head')?.data).toEqual({ bias: true });
    act(() => result.current.undo());
    expect((model.get('graph') as Graph).nodes.find(n => n.id === 'head')?.data).toEqual({});
  });
});
