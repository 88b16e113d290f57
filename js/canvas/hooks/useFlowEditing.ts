/**
 * What the user does to blocks and wires in React Flow, turned into graph
 * edits: drag stop (moving into or out of a transformer block), connect
 * (refused with a reason), delete, viewport moves, selection, inspector
 * fields, copy/paste and auto-layout. Each one is one committed edit.
 */
import type {
  Connection,
  Edge,
  IsValidConnection,
  OnConnectEnd,
  OnNodeDrag,
  OnSelectionChangeFunc
} from '@xyflow/react';
import { useCallback, useMemo } from 'react';

import { counted, t } from '../../shared/i18n';
import type { Store } from '../../shared/store';
import { copyFragment, Fragment, pasteFragment } from '../clipboard';
import {
  absolutePosition,
  connect,
  connectionProblem,
  DEFAULT_NODE_SIZE,
  FlowNode,
  Graph,
  groupAt,
  isGroup,
  moveNodes,
  removeElements,
  reparent,
  updateNodeData,
  Viewport,
  withViewport
} from '../graph';
import { autoLayout } from '../layout';
import type { CanvasState } from '../store';
import type { CommitOptions } from './useGraphDocument';

/** Blocks copied with Ctrl/Cmd+C (shared by every canvas on the page). */
let clipboard: Fragment | null = null;

/** Where a paste lands, relative to the copied blocks. */
export const PASTE_OFFSET = { x: 48, y: 48 };

export interface EditedDocument {
  current(): Graph;
  commit(next: Graph, options?: CommitOptions): void;
}

export interface EditedFlow {
  currentNodes(): FlowNode[];
  selectOnly(ids: readonly string[]): void;
}

export interface FlowEditing {
  onNodeDragStop: OnNodeDrag<FlowNode>;
  isValidConnection: IsValidConnection;
  onConnect(c: Connection): void;
  onConnectEnd: OnConnectEnd;
  onDelete(removed: { nodes: FlowNode[]; edges: Edge[] }): void;
  onMoveEnd(event: unknown, vp: Viewport): void;
  onSelectionChange: OnSelectionChangeFunc<FlowNode>;
  setField(nodeId: string, name: string, value: unknown): void;
  copy(): void;
  paste(): void;
  /** Arrange the blocks top to bottom, at their measured sizes. */
  layout(): void;
}

function size(n: FlowNode): { width: number; height: number } {
  return {
    width: n.measured?.width ?? DEFAULT_NODE_SIZE.width,
    height: n.measured?.height ?? DEFAULT_NODE_SIZE.height
  };
}

export function useFlowEditing(
  doc: EditedDocument,
  flow: EditedFlow,
  store: Store<CanvasState>,
  toast: (text: string | null, info?: boolean) => void
): FlowEditing {
  const blocks = useCallback(() => store.getState().blocks, [store]);

  const onNodeDragStop: OnNodeDrag<FlowNode> = useCallback(
    (_event, _node, dragged) => {
      let g = moveNodes(
        doc.current(),
        dragged.map(n => ({ id: n.id, position: n.position }))
      );
      // dropping a block inside a transformer block makes it a child; dragging it out, top level
      for (const n of dragged) {
        // a locked block keeps its place in (or out of) a transformer block; it may only move
        if (isGroup(blocks(), n.type) || g.nodes.find(m => m.id === n.id)?.locked) {
          continue;
        }
        const abs = absolutePosition(g, n.id);
        const { width, height } = size(n);
        const target = groupAt(g, { x: abs.x + width / 2, y: abs.y + height / 2 }, blocks(), n.id);
        if (target !== (n.parentId ?? null)) {
          g = reparent(g, n.id, target, blocks());
        }
      }
      doc.commit(g);
    },
    [doc, blocks]
  );

  const isValidConnection: IsValidConnection = useCallback(
    c => connectionProblem(doc.current(), c as Connection, blocks()) === null,
    [doc, blocks]
  );
  const onConnect = useCallback(
    (c: Connection) => doc.commit(connect(doc.current(), c, blocks())),
    [doc, blocks]
  );
  // a refused connection says why (the dragged edge was dropped on a handle it may not join)
  const onConnectEnd: OnConnectEnd = useCallback(
    (_event, state) => {
      if (state.isValid !== false || !state.fromHandle || !state.toHandle) {
        return;
      }
      const [a, b] =
        state.fromHandle.type === 'source' ? [state.fromHandle, state.toHandle] : [state.toHandle, state.fromHandle];
      const why = connectionProblem(
        doc.current(),
        { source: a.nodeId, target: b.nodeId, sourceHandle: a.id ?? null, targetHandle: b.id ?? null },
        blocks()
      );
      if (why) {
        toast(t(store.getState().language, 'notConnected', { why }));
      }
    },
    [doc, blocks, toast, store]
  );

  const onDelete = useCallback(
    ({ nodes, edges }: { nodes: FlowNode[]; edges: Edge[] }) =>
      doc.commit(
        removeElements(
          doc.current(),
          nodes.map(n => n.id),
          edges.map(e => e.id)
        )
      ),
    [doc]
  );
  // the viewport is part of the graph (reopening shows the same view); written on move end only
  const onMoveEnd = useCallback(
    (_event: unknown, vp: Viewport) => doc.commit(withViewport(doc.current(), vp), { remember: false }),
    [doc]
  );
  const onSelectionChange: OnSelectionChangeFunc<FlowNode> = useCallback(
    ({ nodes }) => {
      const one = nodes.length === 1 ? nodes[0] : null;
      store.setState({ selectedId: one?.id ?? null, selectedType: one?.type ?? null });
    },
    [store]
  );
  const setField = useCallback(
    (nodeId: string, name: string, value: unknown) => doc.commit(updateNodeData(doc.current(), nodeId, { [name]: value })),
    [doc]
  );

  const copy = useCallback(() => {
    const ids = flow.currentNodes().filter(n => n.selected).map(n => n.id);
    const frag = copyFragment(doc.current(), ids);
    if (frag) {
      clipboard = frag;
      toast(counted(store.getState().language, frag.nodes.length, 'copiedOne', 'copied'), true);
    }
  }, [doc, flow, toast, store]);
  const paste = useCallback(() => {
    if (!clipboard) {
      return;
    }
    const { graph, ids } = pasteFragment(doc.current(), clipboard, blocks(), PASTE_OFFSET);
    doc.commit(graph);
    flow.selectOnly(ids);
  }, [doc, flow, blocks]);
  const layout = useCallback(() => {
    const sizes = new Map(flow.currentNodes().map(n => [n.id, size(n)]));
    doc.commit(autoLayout(doc.current(), blocks(), n => sizes.get(n.id) ?? DEFAULT_NODE_SIZE));
  }, [doc, flow, blocks]);

  return useMemo(
    () => ({
      onNodeDragStop,
      isValidConnection,
      onConnect,
      onConnectEnd,
      onDelete,
      onMoveEnd,
      onSelectionChange,
      setField,
      copy,
      paste,
      layout
    }),
    [onNodeDragStop, isValidConnection, onConnect, onConnectEnd, onDelete, onMoveEnd, onSelectionChange, setField, copy, paste, layout]
  );
}
