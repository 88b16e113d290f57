// @vitest-environment happy-dom
import { act, renderHook } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';

import { fakeModel } from '../../shared/testing/fakeModel';
import { FlowNode, Graph } from '../graph';
import { createCanvasStore } from '../store';
import { BLOCKS, design } from './testGraph';
import { useFlowEditing } from './useFlowEditing';
import { useFlowElements } from './useFlowElements';
import { useGraphDocument } from './useGraphDocument';

function setup(graph: Graph = design()) {
  const model = fakeModel({ graph });
  const store = createCanvasStore({ blocks: BLOCKS });
  const toast = vi.fn();
  const hook = renderHook(() => {
    const doc = useGraphDocument(model);
    const flow = useFlowElements(doc.graph, BLOCKS);
    const edit = useFlowEditing(
      { current: doc.current, commit: doc.commit },
      { currentNodes: flow.currentNodes, selectOnly: flow.selectOnly },
      store,
      toast
    );
    return { doc, flow, edit };
  });
  const py = () => model.get('graph');
  const node = (id: string) => py().nodes.find(n => n.id === id);
  return { ...hook, model, store, toast, py, node };
}

const flowNode = (r: { current: { flow: { nodes: FlowNode[] } } }, id: string) =>
  r.current.flow.nodes.find(n => n.id === id)!;

describe('useFlowEditing', () => {
  it('drag stop writes the new position once; dropping a block into a transformer block makes it a child', () => {
    const { result, py, node, model } = setup();
    // 'head' (top level, 176×64) dragged so that its centre lies inside the group box at (0, 200)
    const head = { ...flowNode(result, 'head'), position: { x: 30, y: 260 } };
    act(() => result.current.edit.onNodeDragStop({} as never, head, [head]));
    expect(model.saves).toBe(1);
    expect(node('head')).toMatchObject({ parentId: 'block', position: { x: 30, y: 60 } });
    // and out again, to the top level (absolute position kept)
    const inside = { ...flowNode(result, 'head'), position: { x: 600, y: 60 } };
    act(() => result.current.edit.onNodeDragStop({} as never, inside, [inside]));
    expect(node('head')?.parentId).toBeUndefined();
    expect(node('head')?.position).toEqual({ x: 600, y: 260 });
    // React Flow's run-time fields never reach Python
    expect(py().nodes.every(n => !('measured' in n) && !('selected' in n))).toBe(true);
  });

  it('refuses a connection with a reason and makes a valid one', () => {
    const { result, py, toast } = setup();
    const taken = { source: 'tokens', target: 'norm', sourceHandle: 'out', targetHandle: 'in' };
    expect(result.current.edit.isValidConnection(taken)).toBe(false);
    act(() =>
      result.current.edit.onConnectEnd({} as never, {
        isValid: false,
        fromHandle: { nodeId: 'tokens', id: 'out', type: 'source' },
        toHandle: { nodeId: 'norm', id: 'in', type: 'target' }
      } as never)
    );
    expect(toast).toHaveBeenCalledWith('Not connected: Input “in” of RMSNorm is already connected; delete that wire first.');
    act(() => result.current.edit.onDelete({ nodes: [], edges: [{ id: 'e7', source: 'head', target: 'logits' }] }));
    expect(py().edges.map(e => e.id)).not.toContain('e7');
    act(() => result.current.edit.onConnect({ source: 'head', target: 'logits', sourceHandle: 'out', targetHandle: 'in' }));
    expect(py().edges.some(e => e.source === 'head' && e.target === 'logits')).toBe(true);
  });

  it('deleting a transformer block deletes its blocks and their wires', () => {
    const { result, py } = setup();
    act(() => result.current.edit.onDelete({ nodes: [flowNode(result, 'block')], edges: [] }));
    expect(py().nodes.map(n => n.id)).toEqual(['tokens', 'emb', 'head', 'logits']);
    expect(py().edges.map(e => e.id)).toEqual(['e1', 'e7']);
  });

  it('a viewport move is saved but is not an undo step', () => {
    const { result, py } = setup();
    act(() => result.current.edit.onMoveEnd(null, { x: 12.4, y: -3.6, zoom: 0.75 }));
    expect(py().viewport).toEqual({ x: 12, y: -4, zoom: 0.75 });
    expect(result.current.doc.canUndo).toBe(false);
  });

  it('selection goes to the store; inspector fields are edits', () => {
    const { result, store, node } = setup();
    act(() => result.current.edit.onSelectionChange({ nodes: [flowNode(result, 'attn')], edges: [] }));
    expect(store.getState()).toMatchObject({ selectedId: 'attn', selectedType: 'attention' });
    act(() => result.current.edit.setField('attn', 'n_heads', 8));
    expect(node('attn')?.data).toEqual({ n_heads: 8 });
    act(() => result.current.edit.onSelectionChange({ nodes: [], edges: [] }));
    expect(store.getState().selectedId).toBeNull();
  });

  it('copy and paste: new ids, wires between the copies, the copies selected', () => {
    const { result, py, toast } = setup();
    act(() =>
      result.current.flow.onNodesChange([
        { type: 'select', id: 'head', selected: true },
        { type: 'select', id: 'logits', selected: true }
      ])
    );
    act(() => result.current.edit.copy());
    expect(toast).toHaveBeenCalledWith('Copied 2 blocks', true);
    act(() => result.current.edit.paste());
    const added = py().nodes.slice(-2);
    expect(added.map(n => n.type)).toEqual(['lmHead', 'logits']);
    expect(added.map(n => n.id)).not.toContain('head');
    expect(py().edges.some(e => e.source === added[0].id && e.target === added[1].id)).toBe(true);
    expect(result.current.flow.nodes.filter(n => n.selected).map(n => n.id)).toEqual(added.map(n => n.id));
  });

  it('layout arranges the blocks top to bottom at their measured sizes', () => {
    const { result, node } = setup();
    act(() => result.current.flow.onNodesChange([{ type: 'dimensions', id: 'emb', dimensions: { width: 176, height: 300 } }]));
    act(() => result.current.edit.layout());
    const y = (id: string) => node(id)!.position.y;
    expect(y('tokens')).toBeLessThan(y('emb'));
    // the tall embedding block pushes the transformer block down past its height
    expect(y('block')).toBeGreaterThanOrEqual(y('emb') + 300);
    expect(y('block')).toBeLessThan(y('head'));
  });
});
