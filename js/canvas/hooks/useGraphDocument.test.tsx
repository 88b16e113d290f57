// @vitest-environment happy-dom
import { act, renderHook } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';

import { fakeModel } from '../../shared/testing/fakeModel';
import { emptyGraph, Graph } from '../graph';
import { useGraphDocument } from './useGraphDocument';

function design(...ids: string[]): Graph {
  return {
    version: 1,
    viewport: { x: 0, y: 0, zoom: 1 },
    nodes: ids.map((id, i) => ({ id, type: 'dropout', position: { x: 0, y: 80 * i }, data: {} })),
    edges: []
  };
}

const ids = (g: Graph) => g.nodes.map(n => n.id);

describe('useGraphDocument: Python → page', () => {
  it('applies a graph that arrives between the first render and the subscription (issue #16)', () => {
    const model = fakeModel({ graph: emptyGraph() });
    // Python assigns the design after the view read the empty graph, before it listens for changes
    model.beforeFirstSubscribe('change:graph', () => model.pySet('graph', design('a', 'b', 'c')));
    const { result } = renderHook(() => useGraphDocument(model));
    expect(ids(result.current.graph)).toEqual(['a', 'b', 'c']);
    expect(result.current.current()).toBe(result.current.graph);
    expect(model.listeners('change:graph')).toBe(1);
  });

  it('shows later changes from Python, which can be undone', () => {
    const model = fakeModel({ graph: design('a') });
    const onExternal = vi.fn();
    const { result } = renderHook(() => useGraphDocument(model, { onExternal }));
    expect(result.current.canUndo).toBe(false);
    act(() => model.pySet('graph', design('a', 'b')));
    expect(ids(result.current.graph)).toEqual(['a', 'b']);
    expect(onExternal).toHaveBeenCalledTimes(1);
    expect(ids(onExternal.mock.calls[0][1])).toEqual(['a']);
    expect(result.current.canUndo).toBe(true);
    act(() => result.current.undo());
    expect(ids(result.current.graph)).toEqual(['a']);
    // the undo is an edit of the page: Python gets it
    expect(ids(model.get('graph'))).toEqual(['a']);
    expect(model.saves).toBe(1);
  });

  it('reading the value it already shows is not an edit (no undo step, no callback)', () => {
    const model = fakeModel({ graph: design('a') });
    const onExternal = vi.fn();
    const { result, rerender } = renderHook(() => useGraphDocument(model, { onExternal }));
    rerender();
    expect(onExternal).not.toHaveBeenCalled();
    expect(result.current.canUndo).toBe(false);
  });

  it('stops listening when unmounted', () => {
    const model = fakeModel({ graph: design('a') });
    const { unmount } = renderHook(() => useGraphDocument(model));
    unmount();
    expect(model.listeners('change:graph')).toBe(0);
  });
});

describe('useGraphDocument: page → Python', () => {
  it('writes a commit to Python once, and its echo is not news', () => {
    const model = fakeModel({ graph: design('a') });
    const onExternal = vi.fn();
    const { result } = renderHook(() => useGraphDocument(model, { onExternal }));
    const next = design('a', 'b');
    act(() => result.current.commit(next));
    expect(model.get('graph')).toBe(next);
    expect(model.saves).toBe(1);
    expect(result.current.graph).toBe(next);
    expect(onExternal).not.toHaveBeenCalled();
    // committing the same graph again changes nothing
    act(() => result.current.commit(next));
    expect(model.saves).toBe(1);
  });

  it('undo and redo walk the committed edits; viewport moves are not undo steps', () => {
    const model = fakeModel({ graph: design('a') });
    const { result } = renderHook(() => useGraphDocument(model));
    act(() => result.current.commit(design('a', 'b')));
    act(() => result.current.commit(design('a', 'b', 'c')));
    const moved = { ...result.current.graph, viewport: { x: 10, y: 20, zoom: 0.5 } };
    act(() => result.current.commit(moved, { remember: false }));
    act(() => result.current.undo());
    expect(ids(result.current.graph)).toEqual(['a', 'b']);
    // the view stays where the user is looking
    expect(result.current.graph.viewport).toEqual({ x: 10, y: 20, zoom: 0.5 });
    expect(result.current.canRedo).toBe(true);
    act(() => result.current.undo());
    expect(ids(result.current.graph)).toEqual(['a']);
    expect(result.current.canUndo).toBe(false);
    act(() => result.current.redo());
    act(() => result.current.redo());
    expect(ids(result.current.graph)).toEqual(['a', 'b', 'c']);
    expect(ids(model.get('graph'))).toEqual(['a', 'b', 'c']);
    expect(result.current.canRedo).toBe(false);
  });

  it('keeps at most `limit` undo steps', () => {
    const model = fakeModel({ graph: design() });
    const { result } = renderHook(() => useGraphDocument(model, { limit: 2 }));
    for (const n of ['a', 'b', 'c', 'd']) {
      act(() => result.current.commit(design(...ids(result.current.graph), n)));
    }
    act(() => result.current.undo());
    act(() => result.current.undo());
    act(() => result.current.undo());
    expect(ids(result.current.graph)).toEqual(['a', 'b']);
  });
});
