/**
 * Adding blocks: a palette click puts the block at a free spot in the middle
 * of the view; a palette drag drops it where the mouse is — inside a
 * transformer block it becomes that block's child.
 */
import { useReactFlow } from '@xyflow/react';
import React, { RefObject, useCallback } from 'react';

import { schemaDefaults } from '../../shared/schema';
import type { Store } from '../../shared/store';
import { addBlock, freeSpot, Graph, isGroup, XY } from '../graph';
import { DRAG_MIME } from '../Palette';
import type { CanvasState } from '../store';

export interface AddBlockTarget {
  current(): Graph;
  commit(next: Graph): void;
  selectOnly(ids: readonly string[]): void;
}

export interface AddBlock {
  /** Add a block of `type` at `at` (flow coordinates), or at a free spot in the middle of the view. */
  add(type: string, at?: XY): void;
  onDragOver(e: React.DragEvent): void;
  onDrop(e: React.DragEvent): void;
}

/** Where a new block of the default size goes so that it is centred on a screen point. */
const HALF_BLOCK = { x: 80, y: 30 };

export function useAddBlock(
  wrapper: RefObject<HTMLElement | null>,
  store: Store<CanvasState>,
  doc: AddBlockTarget
): AddBlock {
  const rf = useReactFlow();

  const add = useCallback(
    (type: string, at?: XY) => {
      const blocks = store.getState().blocks;
      const graph = doc.current();
      let position: XY;
      let parentId: string | undefined;
      if (!at) {
        const r = wrapper.current?.querySelector('.react-flow')?.getBoundingClientRect();
        const centre = r
          ? rf.screenToFlowPosition({ x: r.left + r.width / 2 - HALF_BLOCK.x, y: r.top + r.height / 2 - HALF_BLOCK.y })
          : { x: 0, y: 0 };
        position = freeSpot(graph, centre, blocks);
      } else {
        position = at;
        if (!isGroup(blocks, type)) {
          // dropped inside a group → becomes its child (positions are relative to the parent)
          const group = rf
            .getIntersectingNodes({ x: at.x, y: at.y, width: 1, height: 1 })
            .filter(n => isGroup(blocks, n.type))
            .pop();
          const internal = group ? rf.getInternalNode(group.id) : undefined;
          if (group && internal) {
            parentId = group.id;
            position = {
              x: at.x - internal.internals.positionAbsolute.x,
              y: at.y - internal.internals.positionAbsolute.y
            };
          }
        }
      }
      const data = schemaDefaults(blocks[type]?.schema);
      const { graph: next, id } = addBlock(graph, type, position, data, parentId);
      doc.commit(next);
      doc.selectOnly([id]);
    },
    [doc, rf, store, wrapper]
  );

  const onDragOver = useCallback((e: React.DragEvent) => {
    if (e.dataTransfer.types.includes(DRAG_MIME)) {
      e.preventDefault();
      e.dataTransfer.dropEffect = 'move';
    }
  }, []);

  const onDrop = useCallback(
    (e: React.DragEvent) => {
      const type = e.dataTransfer.getData(DRAG_MIME);
      if (!type) {
        return;
      }
      e.preventDefault();
      add(type, rf.screenToFlowPosition({ x: e.clientX, y: e.clientY }));
    },
    [add, rf]
  );

  return { add, onDragOver, onDrop };
}
