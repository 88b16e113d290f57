/**
 * The canvas view: React Flow editor of `model.graph` with palette, inspector,
 * docs and live analysis.
 *
 * Data flow: Python's `graph` traitlet is the source of truth. React Flow's
 * nodes/edges are derived from it (keeping selection and measured sizes).
 * Local edits produce a new graph that is written back at once — except
 * dragging, which moves nodes locally and writes back only on drag stop.
 * Our own writes are recognised by identity, so they never loop back.
 */
import {
  applyEdgeChanges,
  applyNodeChanges,
  Background,
  ColorMode,
  Connection,
  Controls,
  Edge,
  IsValidConnection,
  Node,
  OnEdgesChange,
  OnNodeDrag,
  OnNodesChange,
  OnSelectionChangeFunc,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow
} from '@xyflow/react';
import React, { useCallback, useEffect, useMemo, useRef, useState } from 'react';

import type { AnyModel, EventMessage } from '../shared/anywidget';
import { isLightTheme, watchTheme } from '../shared/mount';
import { claimNonce, useModelEvents, useModelValue } from '../shared/model';
import { insertCellBelow } from '../shared/notebook';
import { schemaDefaults } from '../shared/schema';
import type { Store } from '../shared/store';
import { Button } from '../shared/ui';
import { AnalysisBar } from './AnalysisBar';
import { DocsPanel } from './DocsPanel';
import {
  absolutePosition,
  addBlock,
  connect,
  connectionProblem,
  DEFAULT_NODE_SIZE,
  fitGroups,
  freeSpot,
  Graph,
  GROUP_TYPE,
  groupAt,
  moveNodes,
  normalizeGraph,
  removeElements,
  reparent,
  toFlowEdges,
  toFlowNodes,
  updateNodeData,
  Viewport,
  withViewport
} from './graph';
import { Inspector } from './Inspector';
import { nodeTypes, nodeTypesFor } from './nodes';
import { DRAG_MIME, Palette } from './Palette';
import { CanvasState, CanvasStoreContext, createCanvasStore, indexBlocks } from './store';
import type { Analysis, Catalog, Language } from './types';

const DELETE_KEYS = ['Backspace', 'Delete'];

export interface CanvasModel {
  _view: string;
  graph: Graph;
  catalog: Catalog;
  analysis: Analysis;
  notices: string[];
  language: Language;
  height: number;
  name: string;
}

function useCanvasModelSync(model: AnyModel<CanvasModel>, store: Store<CanvasState>) {
  useEffect(() => {
    const onCatalog = () => {
      const catalog = model.get('catalog') ?? {};
      store.setState({ catalog, blocks: indexBlocks(catalog) });
    };
    const onAnalysis = () => store.setState({ analysis: model.get('analysis') ?? {} });
    const onLanguage = () => store.setState({ language: model.get('language') ?? 'en' });
    onCatalog();
    onAnalysis();
    onLanguage();
    model.on('change:catalog', onCatalog);
    model.on('change:analysis', onAnalysis);
    model.on('change:language', onLanguage);
    return () => {
      model.off('change:catalog', onCatalog);
      model.off('change:analysis', onAnalysis);
      model.off('change:language', onLanguage);
    };
  }, [model, store]);
}

function useColorMode(): ColorMode {
  const [light, setLight] = useState(isLightTheme);
  useEffect(() => watchTheme(setLight), []);
  return light ? 'light' : 'dark';
}

function Editor({ model, store }: { model: AnyModel<CanvasModel>; store: Store<CanvasState> }) {
  const rf = useReactFlow();
  const wrapper = useRef<HTMLDivElement>(null);
  const graphRef = useRef<Graph>(normalizeGraph(model.get('graph')));
  const lastSent = useRef<unknown>(null);
  const [graph, setGraph] = useState<Graph>(graphRef.current);
  const [nodes, setNodes] = useState<Node[]>(() => toFlowNodes(graphRef.current));
  const [edges, setEdges] = useState<Edge[]>(() => toFlowEdges(graphRef.current));
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [toast, setToast] = useState<string | null>(null);
  const notices = useModelValue(model, 'notices') ?? [];
  const height = useModelValue(model, 'height') ?? 560;
  const catalog = useModelValue(model, 'catalog');
  const colorMode = useColorMode();

  const types = useMemo(() => {
    const blocks = catalog?.blocks ?? [];
    return nodeTypesFor(
      blocks.map(b => b.type),
      blocks.filter(b => b.is_group).map(b => b.type)
    );
  }, [catalog]);

  // Python → page
  useEffect(() => {
    const onGraph = () => {
      const raw = model.get('graph');
      if (raw === lastSent.current) {
        return; // our own write
      }
      const g = normalizeGraph(raw);
      graphRef.current = g;
      setGraph(g);
      setNodes(prev => toFlowNodes(g, prev));
      setEdges(prev => toFlowEdges(g, prev));
    };
    model.on('change:graph', onGraph);
    return () => model.off('change:graph', onGraph);
  }, [model]);

  // page → Python
  const commit = useCallback(
    (g: Graph, rederive = true) => {
      if (g === graphRef.current) {
        return;
      }
      graphRef.current = g;
      setGraph(g);
      if (rederive) {
        setNodes(prev => toFlowNodes(g, prev));
        setEdges(prev => toFlowEdges(g, prev));
      }
      lastSent.current = g;
      model.set('graph', g);
      model.save_changes();
    },
    [model]
  );

  const onNodesChange: OnNodesChange = useCallback(
    changes => setNodes(nds => fitGroups(applyNodeChanges(changes, nds))),
    []
  );
  const onEdgesChange: OnEdgesChange = useCallback(
    changes => setEdges(eds => applyEdgeChanges(changes, eds)),
    []
  );
  const onNodeDragStop: OnNodeDrag = useCallback(
    (_event, _node, dragged) => {
      let g = moveNodes(
        graphRef.current,
        dragged.map(n => ({ id: n.id, position: n.position }))
      );
      // dropping a block inside a transformer block makes it a child; dragging it out, top level
      let reparented = false;
      for (const n of dragged) {
        if (n.type === GROUP_TYPE || store.getState().blocks[n.type ?? '']?.is_group) {
          continue;
        }
        const abs = absolutePosition(g, n.id);
        const center = {
          x: abs.x + (n.measured?.width ?? DEFAULT_NODE_SIZE.width) / 2,
          y: abs.y + (n.measured?.height ?? DEFAULT_NODE_SIZE.height) / 2
        };
        const target = groupAt(g, center, n.id);
        if (target !== (n.parentId ?? null)) {
          g = reparent(g, n.id, target);
          reparented = true;
        }
      }
      commit(g, reparented);
    },
    [commit, store]
  );
  const isValidConnection: IsValidConnection = useCallback(
    c => connectionProblem(graphRef.current, c as Connection) === null,
    []
  );
  const onConnect = useCallback(
    (c: Connection) => commit(connect(graphRef.current, c)),
    [commit]
  );
  const onDelete = useCallback(
    ({ nodes: ns, edges: es }: { nodes: Node[]; edges: Edge[] }) =>
      commit(
        removeElements(
          graphRef.current,
          ns.map(n => n.id),
          es.map(e => e.id)
        )
      ),
    [commit]
  );
  // the viewport is part of the graph (reopening shows the same view); written on move end only
  const onMoveEnd = useCallback(
    (_event: unknown, vp: Viewport) => commit(withViewport(graphRef.current, vp), false),
    [commit]
  );
  const onSelectionChange: OnSelectionChangeFunc = useCallback(
    ({ nodes: sel }) => {
      const one = sel.length === 1 ? sel[0] : null;
      setSelectedId(one?.id ?? null);
      store.setState({ selectedId: one?.id ?? null, selectedType: one?.type ?? null });
    },
    [store]
  );

  const add = useCallback(
    (type: string, at?: { x: number; y: number }) => {
      const block = store.getState().blocks[type];
      let position = at;
      let parentId: string | undefined;
      if (!position) {
        const r = wrapper.current?.querySelector('.react-flow')?.getBoundingClientRect();
        const center = r
          ? rf.screenToFlowPosition({ x: r.left + r.width / 2 - 80, y: r.top + r.height / 2 - 30 })
          : { x: 0, y: 0 };
        position = freeSpot(graphRef.current, center);
      } else if (!block?.is_group) {
        // dropped inside a group → becomes its child
        const group = rf
          .getIntersectingNodes({ x: at!.x, y: at!.y, width: 1, height: 1 })
          .filter(n => n.type === GROUP_TYPE || store.getState().blocks[n.type ?? '']?.is_group)
          .pop();
        const internal = group ? rf.getInternalNode(group.id) : undefined;
        if (group && internal) {
          parentId = group.id;
          position = {
            x: at!.x - internal.internals.positionAbsolute.x,
            y: at!.y - internal.internals.positionAbsolute.y
          };
        }
      }
      const data = schemaDefaults(block?.schema);
      const { graph: g, id } = addBlock(graphRef.current, type, position, data, parentId);
      commit(g);
      setNodes(prev => prev.map(n => (n.id === id ? { ...n, selected: true } : n.selected ? { ...n, selected: false } : n)));
    },
    [commit, rf, store]
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

  const onCommitField = useCallback(
    (nodeId: string, name: string, value: unknown) =>
      commit(updateNodeData(graphRef.current, nodeId, { [name]: value })),
    [commit]
  );
  const onLanguage = useCallback(
    (lang: Language) => {
      model.set('language', lang);
      model.save_changes();
    },
    [model]
  );

  // one-shot events from Python
  const onEvent = useCallback(
    (msg: EventMessage) => {
      if (msg.type === 'fit_view') {
        void rf.fitView({ padding: 0.15 });
      } else if (msg.type === 'insert_cell' && claimNonce(model, msg.nonce)) {
        insertCellBelow({
          code: String(msg.code ?? ''),
          anchor: wrapper.current,
          run: Boolean(msg.run)
        }).then(
          res => model.send({ type: 'insert_cell_result', nonce: msg.nonce, ok: true, ...res }),
          (err: unknown) => {
            const message = err instanceof Error ? err.message : String(err);
            setToast(message);
            model.send({ type: 'insert_cell_result', nonce: msg.nonce, ok: false, error: message });
          }
        );
      }
    },
    [model, rf]
  );
  useModelEvents(model, onEvent);

  const selected = useMemo(
    () => graph.nodes.find(n => n.id === selectedId) ?? null,
    [graph, selectedId]
  );
  const vp = graph.viewport;
  const initialFit =
    graph.nodes.length > 0 && (!vp || (vp.x === 0 && vp.y === 0 && vp.zoom === 1));

  return (
    <div className="sdl-canvas" ref={wrapper} style={{ height }}>
      <Palette onAdd={add} />
      <div className="sdl-flow" onDragOver={onDragOver} onDrop={onDrop}>
        <div className="sdl-toolbar">
          <Button onClick={() => void rf.fitView({ padding: 0.15 })} title="Fit the graph in view">
            Fit
          </Button>
          <Button
            onClick={() => model.send({ type: 'request_code' })}
            title="Insert code that builds this model in a new cell below"
            data-action="insert-code"
          >
            Insert code ↓
          </Button>
        </div>
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={types}
          onNodesChange={onNodesChange}
          onEdgesChange={onEdgesChange}
          onNodeDragStop={onNodeDragStop}
          onConnect={onConnect}
          isValidConnection={isValidConnection}
          onDelete={onDelete}
          onSelectionChange={onSelectionChange}
          onMoveEnd={onMoveEnd}
          defaultViewport={vp ?? { x: 0, y: 0, zoom: 1 }}
          fitView={initialFit}
          fitViewOptions={{ padding: 0.15 }}
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
        </ReactFlow>
        {toast && (
          <div className="sdl-toast" role="alert" onClick={() => setToast(null)}>
            {toast}
          </div>
        )}
      </div>
      <div className="sdl-side">
        <Inspector node={selected} onCommit={onCommitField} />
        <DocsPanel onLanguage={onLanguage} />
      </div>
      <AnalysisBar notices={notices} />
    </div>
  );
}

export function CanvasApp({ model }: { model: AnyModel<CanvasModel> }) {
  const store = useMemo(() => createCanvasStore(), []);
  useCanvasModelSync(model, store);
  return (
    <CanvasStoreContext.Provider value={store}>
      <ReactFlowProvider>
        <Editor model={model} store={store} />
      </ReactFlowProvider>
    </CanvasStoreContext.Provider>
  );
}

export { nodeTypes };
