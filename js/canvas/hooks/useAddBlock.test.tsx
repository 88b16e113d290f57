// @vitest-environment happy-dom
import { act, renderHook } from '@testing-library/react';
import { ReactFlowProvider } from '@xyflow/react';
import React from 'react';
import { describe, expect, it } from 'vitest';

import { fakeModel } from '../../shared/testing/fakeModel';
import { FlowNode, Graph, toFlowNodes } from '../graph';
import { DRAG_MIME } from '../Palette';
import { createCanvasStore } from '../store';
import { BLOCKS, design } from './testGraph';
import { useAddBlock } from './useAddBlock';
import { useFlowElements } from './useFlowElements';
import { useGraphDocument } from './useGraphDocument';

/** React Flow's store knows the blocks with sizes, as if it had measured them. */
function measured(graph: Graph): FlowNode[] {
  return toFlowNodes(graph, BLOCKS).map(n => ({
    ...n,
    width: n.type === 'transformerBlock' ? 300 : 176,
    height: n.type === 'transformerBlock' ? 360 : 64
  }));
}

function setup(graph: Graph = design()) {
  const model = fakeModel({ graph });
  const store = createCanvasStore({ blocks: BLOCKS });
  const wrapper = { current: null };
  const hook = renderHook(
    () => {
      const doc = useGraphDocument(model);
      const flow = useFlowElements(doc.graph, BLOCKS);
      const add = useAddBlock(wrapper, store, { current: doc.current, commit: doc.commit, selectOnly: flow.selectOnly });
      return { doc, flow, add };
    },
    { wrapper: ({ children }) => <ReactFlowProvider initialNodes={measured(graph)}>{children}</ReactFlowProvider> }
  );
  return { ...hook, model, last: () => model.get('graph').nodes.at(-1)! };
}

function dropEvent(type: string, x: number, y: number) {
  const data = new Map([[DRAG_MIME, type]]);
  let prevented = false;
  const event = {
    clientX: x,
    clientY: y,
    dataTransfer: { types: [...data.keys()], getData: (k: string) => data.get(k) ?? '', dropEffect: 'none' },
    preventDefault: () => {
      prevented = true;
    }
  };
  return { event: event as unknown as React.DragEvent, prevented: () => prevented };
}

describe('useAddBlock', () => {
  it('a palette drop adds the block where it was dropped, with its schema defaults, selected', () => {
    const { result, last, model } = setup();
    const drop = dropEvent('dropout', 500, 40);
    act(() => result.current.add.onDrop(drop.event));
    expect(drop.prevented()).toBe(true);
    expect(last()).toEqual({ id: 'dropout_1', type: 'dropout', position: { x: 500, y: 40 }, data: { p: 0.1 } });
    expect(model.saves).toBe(1);
    expect(result.current.flow.nodes.filter(n => n.selected).map(n => n.id)).toEqual(['dropout_1']);
  });

  it('a drop inside a transformer block makes the new block its child', () => {
    const { result, last } = setup();
    act(() => result.current.add.onDrop(dropEvent('dropout', 100, 500).event));
    expect(last()).toMatchObject({ type: 'dropout', parentId: 'block', position: { x: 100, y: 300 } });
  });

  it('a click adds the block at a free spot, never on top of another block', () => {
    const { result, last } = setup();
    act(() => result.current.add.add('dropout'));
    const p = last().position;
    const boxes = measured(design()).filter(n => !n.parentId);
    const overlaps = boxes.some(
      b => p.x < b.position.x + b.width! && p.x + 176 > b.position.x && p.y < b.position.y + b.height! && p.y + 64 > b.position.y
    );
    expect(overlaps).toBe(false);
  });

  it('drag-over accepts palette blocks only; a drop of anything else adds nothing', () => {
    const { result, model } = setup();
    const over = dropEvent('dropout', 0, 0);
    act(() => result.current.add.onDragOver(over.event));
    expect(over.prevented()).toBe(true);
    const other = {
      dataTransfer: { types: ['text/plain'], getData: () => '' },
      preventDefault: () => {
        throw new Error('must not accept');
      }
    } as unknown as React.DragEvent;
    act(() => result.current.add.onDragOver(other));
    act(() => result.current.add.onDrop(other));
    expect(model.saves).toBe(0);
  });
});
