/**
 * The canvas view: React Flow editor of `model.graph` with palette, inspector,
 * docs and live analysis.
 *
 * Data flow: Python's `graph` traitlet is the source of truth. The graph
 * document (`useGraphDocument`) mirrors it with undo/redo; React Flow's nodes
 * and edges are derived from it (`useFlowElements`, keeping selection and
 * measured sizes). Each user edit (`useFlowEditing`, `useAddBlock`, the
 * inspector) commits a new graph, written back at once — dragging moves
 * nodes locally and commits on drag stop only. Catalogue, analysis, language
 * and selection live in the canvas store, where components select slices.
 */
import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow
} from '@xyflow/react';
import React, { useCallback, useEffect, useMemo, useRef } from 'react';

import type { AnyModel, Experimental } from '../shared/anywidget';
import { t } from '../shared/i18n';
import { useModelValue } from '../shared/model';
import type { Store } from '../shared/store';
import { AnalysisBar } from './AnalysisBar';
import { DocsPanel } from './DocsPanel';
import { Graph, graphBounds, lockedChanges, normalizeGraph, readableViewport, Viewport } from './graph';
import { useAddBlock } from './hooks/useAddBlock';
import { useResize } from './hooks/useResize';
import { useCanvasMessages } from './hooks/useCanvasMessages';
import { useDesignFiles } from './hooks/useDesignFiles';
import { useColorMode } from './hooks/useColorMode';
import { useFlowEditing } from './hooks/useFlowEditing';
import { useFlowElements } from './hooks/useFlowElements';
import { useGraphDocument } from './hooks/useGraphDocument';
import { useShortcuts } from './hooks/useShortcuts';
import { stateFrom, useStoreSync } from './hooks/useStoreSync';
import { useToast } from './hooks/useToast';
import { Inspector } from './Inspector';
import { nodeTypesFor } from './nodes';
import { Palette } from './Palette';
import { CanvasState, CanvasStoreContext, createCanvasStore, useCanvas } from './store';
import { CanvasToolbar, FileBar, ToolbarActions } from './Toolbar';
import type { CanvasState as CanvasModel, CanvasToPython } from '../shared/contract';
import type { Language } from './types';

const DELETE_KEYS = ['Backspace', 'Delete'];
/** "Fit": the whole design, never zoomed in past 1×. */
const FIT = { padding: 0.15, maxZoom: 1 };
/** The toolbar lies over the top of the flow: a design shown from its top starts below it. */
const TOOLBAR_ROOM = 64;
/** The smallest canvas height (the traitlet's minimum). */
const MIN_HEIGHT = 240;
/** React Flow measures new blocks first; fitting waits for that. */
const FIT_DELAY_MS = 50;

export type { CanvasModel };

/** "B×T×128" for an edge label. */
function edgeLabel(shape: unknown): string | undefined {
  return Array.isArray(shape) && shape.length ? shape.map(String).join('×') : undefined;
}

function isUnset(vp: Viewport | undefined): boolean {
  return !vp || (vp.x === 0 && vp.y === 0 && vp.zoom === 1);
}

function Editor({
  model,
  store,
  experimental
}: {
  model: AnyModel<CanvasModel>;
  store: Store<CanvasState>;
  experimental?: Experimental;
}) {
  const rf = useReactFlow();
  const wrapper = useRef<HTMLDivElement>(null);
  const fitNext = useRef(false);
  const fit = useCallback(() => void rf.fitView(FIT), [rf]);
  const graphRef = useRef<() => Graph>(() => normalizeGraph(model.get('graph')));
  // the design at a readable zoom (its top when it is too tall), after React Flow has placed the blocks
  const showReadable = useCallback(() => {
    const el = wrapper.current?.querySelector('.react-flow') as HTMLElement | null;
    const bounds = graphBounds(graphRef.current(), store.getState().blocks);
    if (el && bounds && el.clientWidth > 0 && el.clientHeight > 0) {
      const view = { width: el.clientWidth, height: el.clientHeight };
      void rf.setViewport(readableViewport(bounds, view, 24, TOOLBAR_ROOM));
    }
  }, [rf, store]);
  const fitSoon = useCallback(() => setTimeout(showReadable, FIT_DELAY_MS), [showReadable]);

  // a template chosen in the menu, or a design given to an empty canvas: show all of it
  const onExternal = useCallback(
    (next: Graph, before: Graph) => {
      const filled = before.nodes.length === 0 && next.nodes.length > 0 && isUnset(next.viewport);
      if (fitNext.current || filled) {
        fitNext.current = false;
        fitSoon();
      }
    },
    [fitSoon]
  );
  const { toast, show: showToast } = useToast();
  // a locked block (a guided exercise) is never deleted or changed here; Python refuses it as well
  const guard = useCallback(
    (next: Graph, before: Graph) => {
      const ids = lockedChanges(before, next);
      if (ids.length > 0) {
        showToast(t(store.getState().language, 'lockedRefused', { ids: ids.join(', ') }));
        return false;
      }
      return true;
    },
    [showToast, store]
  );
  const doc = useGraphDocument(model, { onExternal, guard });
  graphRef.current = doc.current;
  // a design shown for the first time (no saved view): readable, never zoomed in past 1×
  useEffect(() => {
    const g = doc.current();
    if (g.nodes.length > 0 && isUnset(g.viewport)) {
      fitSoon();
    }
  }, []); // eslint-disable-line react-hooks/exhaustive-deps -- once, when the view opens
  const blocks = useCanvas(s => s.blocks);
  const flow = useFlowElements(doc.graph, blocks);
  const { exportCode } = useCanvasMessages(model, experimental, wrapper, { fitView: fit, toast: showToast });
  const { current, commit } = doc;
  const { selectOnly, currentNodes } = flow;
  const target = useMemo(() => ({ current, commit, selectOnly, currentNodes }), [current, commit, selectOnly, currentNodes]);
  const edit = useFlowEditing(target, target, store, showToast);
  const { add, onDragOver, onDrop } = useAddBlock(wrapper, store, target);
  useShortcuts(wrapper, { undo: doc.undo, redo: doc.redo, copy: edit.copy, paste: edit.paste });
  useStoreSync(model, store);

  const notices = useModelValue(model, 'notices') ?? [];
  const templates = useModelValue(model, 'templates') ?? [];
  const savedHeight = useModelValue(model, 'height') ?? 720;
  const { height, onResizeStart } = useResize(savedHeight, MIN_HEIGHT, h => {
    model.set('height', h);
    model.save_changes();
  });
  const shapes = useCanvas(s => s.analysis?.nodes);
  const selectedId = useCanvas(s => s.selectedId);
  const language = useCanvas(s => s.language);
  const colorMode = useColorMode();
  const fileLabel = useModelValue(model, 'file_label') ?? '';
  const canvasName = useModelValue(model, 'name') ?? 'canvas';
  const files = useDesignFiles(experimental, language);

  const types = useMemo(() => nodeTypesFor(blocks), [blocks]);

  const { layout } = edit;
  const actions: ToolbarActions = useMemo(
    () => ({
      canUndo: doc.canUndo,
      canRedo: doc.canRedo,
      undo: doc.undo,
      redo: doc.redo,
      layout: () => {
        layout();
        fitSoon();
      },
      fit,
      exportCode: () => void exportCode(),
      chooseTemplate: (name: string, size: string) => {
        fitNext.current = true;
        model.send({ type: 'load_template', name, size } satisfies CanvasToPython);
      }
    }),
    [doc.canUndo, doc.canRedo, doc.undo, doc.redo, layout, fitSoon, fit, exportCode, model]
  );
  const onLanguage = useCallback(
    (lang: Language) => {
      model.set('language', lang);
      model.save_changes();
    },
    [model]
  );

  const { graph } = doc;
  const selected = useMemo(() => graph.nodes.find(n => n.id === selectedId) ?? null, [graph, selectedId]);
  const vp = graph.viewport;
  // edge labels: the shape each edge carries, from the analysis of its source node
  const edges = useMemo(
    () =>
      flow.edges.map(e => {
        const label = edgeLabel(shapes?.[e.source]?.shape);
        return label ? { ...e, label } : e;
      }),
    [flow.edges, shapes]
  );

  return (
    <div className="sdl-canvas" ref={wrapper} style={{ height }} lang={language}>
      <Palette onAdd={add} />
      <div className="sdl-flow" onDragOver={onDragOver} onDrop={onDrop}>
        <CanvasToolbar templates={templates} actions={actions}>
          <FileBar file={fileLabel} name={canvasName} files={files} toast={showToast} />
        </CanvasToolbar>
        <ReactFlow
          nodes={flow.nodes}
          edges={edges}
          nodeTypes={types}
          onNodesChange={flow.onNodesChange}
          onEdgesChange={flow.onEdgesChange}
          onNodeDragStop={edit.onNodeDragStop}
          onConnect={edit.onConnect}
          onConnectEnd={edit.onConnectEnd}
          isValidConnection={edit.isValidConnection}
          onDelete={edit.onDelete}
          onSelectionChange={edit.onSelectionChange}
          onMoveEnd={edit.onMoveEnd}
          defaultViewport={vp}
          colorMode={colorMode}
          minZoom={0.1}
          maxZoom={2}
          deleteKeyCode={DELETE_KEYS}
          snapToGrid
          snapGrid={[8, 8]}
          preventScrolling
        >
          <Background gap={16} size={1} />
          <Controls showInteractive={false} />
          <MiniMap pannable zoomable ariaLabel="Overview" style={{ width: 140, height: 96 }} />
        </ReactFlow>
        {toast && (
          <div
            className={`sdl-toast${toast.info ? ' sdl-toast-info' : ''}`}
            role={toast.info ? 'status' : 'alert'}
            onClick={() => showToast(null)}
          >
            {toast.text}
          </div>
        )}
      </div>
      <div className="sdl-side">
        <Inspector node={selected} onCommit={edit.setField} />
        <DocsPanel onLanguage={onLanguage} />
      </div>
      <AnalysisBar notices={notices} />
      <div
        className="sdl-resize"
        role="separator"
        aria-orientation="horizontal"
        aria-label="Resize the canvas"
        title={t(language, 'resize')}
        onPointerDown={onResizeStart}
      />
    </div>
  );
}

export function CanvasApp({ model, experimental }: { model: AnyModel<CanvasModel>; experimental?: Experimental }) {
  // the first state from the model as it is now (kept current by useStoreSync)
  const store = useMemo(() => createCanvasStore(stateFrom(model)), [model]);
  return (
    <CanvasStoreContext.Provider value={store}>
      <ReactFlowProvider>
        <Editor model={model} store={store} experimental={experimental} />
      </ReactFlowProvider>
    </CanvasStoreContext.Provider>
  );
}
