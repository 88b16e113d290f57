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
  MiniMap,
  IsValidConnection,
  Node,
  OnConnectEnd,
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
import { insertCellBelow, notebookHook } from '../shared/notebook';
import { schemaDefaults } from '../shared/schema';
import type { Store } from '../shared/store';
import { Button } from '../shared/ui';
import { AnalysisBar } from './AnalysisBar';
import { copyFragment, Fragment, pasteFragment } from './clipboard';
import { createHistory, History, record, redo, undo } from './history';
import { autoLayout } from './layout';
import { TemplatesMenu, Totals } from './Toolbar';
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
import type { Analysis, Catalog, Language, TemplateRow } from './types';

const DELETE_KEYS = ['Backspace', 'Delete'];
const HISTORY_LIMIT = 100;
const EDITABLE = /^(INPUT|TEXTAREA|SELECT)$/;

/** Blocks copied with Ctrl/Cmd+C (shared by every canvas on the page). */
let clipboard: Fragment | null = null;

/** "B×T×128" for an edge label. */
function edgeLabel(shape: unknown): string | undefined {
  return Array.isArray(shape) && shape.length ? shape.map(String).join('×') : undefined;
}

/** Copy text to the system clipboard (async API, else a hidden textarea). */
async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    const ok = document.execCommand('copy');
    ta.remove();
    return ok;
  }
}

export interface CanvasModel {
  _view: string;
  graph: Graph;
  catalog: Catalog;
  analysis_json: Analysis;
  templates: TemplateRow[];
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
    const onAnalysis = () => store.setState({ analysis: model.get('analysis_json') ?? {} });
    const onLanguage = () => store.setState({ language: model.get('language') ?? 'en' });
    onCatalog();
    onAnalysis();
    onLanguage();
    model.on('change:catalog', onCatalog);
    model.on('change:analysis_json', onAnalysis);
    model.on('change:language', onLanguage);
    return () => {
      model.off('change:catalog', onCatalog);
      model.off('change:analysis_json', onAnalysis);
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
  const [toast, setToastState] = useState<{ text: string; info: boolean } | null>(null);
  // errors are red; `info` messages (copied, ...) are neutral
  const setToast = useCallback(
    (text: string | null, info = false) => setToastState(text ? { text, info } : null),
    []
  );
  const history = useRef<History<Graph>>(createHistory<Graph>(HISTORY_LIMIT));
  const [canUndo, setCanUndo] = useState({ undo: false, redo: false });
  const nodesRef = useRef<Node[]>(nodes);
  nodesRef.current = nodes;
  const fitNext = useRef(false);
  useEffect(() => {
    if (!toast) {
      return;
    }
    const t = setTimeout(() => setToast(null), 8000);
    return () => clearTimeout(t);
  }, [toast]);
  const notices = useModelValue(model, 'notices') ?? [];
  const analysis = useModelValue(model, 'analysis_json');
  const templates = useModelValue(model, 'templates') ?? [];
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
      const before = graphRef.current;
      if (before.nodes !== g.nodes || before.edges !== g.edges) {
        history.current = record(history.current, before); // Python's edits can be undone too
        setCanUndo({ undo: true, redo: false });
      }
      graphRef.current = g;
      setGraph(g);
      setNodes(prev => toFlowNodes(g, prev));
      setEdges(prev => toFlowEdges(g, prev));
      if (fitNext.current) {
        fitNext.current = false;
        setTimeout(() => void rf.fitView({ padding: 0.15 }), 50);
      }
    };
    model.on('change:graph', onGraph);
    return () => model.off('change:graph', onGraph);
  }, [model, rf]);

  // tell Python whether the extension can insert cells here (canvas.export_code() uses it)
  useEffect(() => {
    model.send({ type: 'hello', hook: notebookHook() !== null });
  }, [model]);

  // page → Python
  const commit = useCallback(
    (g: Graph, rederive = true, remember = true) => {
      if (g === graphRef.current) {
        return;
      }
      if (remember) {
        // one entry per committed edit (drag stop, connect, delete, paste, field, layout, ...)
        history.current = record(history.current, graphRef.current);
        setCanUndo({ undo: true, redo: false });
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
    c => connectionProblem(graphRef.current, c as Connection, store.getState().blocks) === null,
    [store]
  );
  const onConnect = useCallback(
    (c: Connection) => commit(connect(graphRef.current, c, store.getState().blocks)),
    [commit, store]
  );
  // a refused connection says why (the dragged edge was dropped on a handle it may not join)
  const onConnectEnd: OnConnectEnd = useCallback(
    (_event, state) => {
      if (state.isValid !== false || !state.fromHandle || !state.toHandle) {
        return;
      }
      const [a, b] = state.fromHandle.type === 'source' ? [state.fromHandle, state.toHandle] : [state.toHandle, state.fromHandle];
      const why = connectionProblem(
        graphRef.current,
        { source: a.nodeId, target: b.nodeId, sourceHandle: a.id ?? null, targetHandle: b.id ?? null },
        store.getState().blocks
      );
      if (why) {
        setToast(`Not connected: ${why}.`);
      }
    },
    [store, setToast]
  );

  // undo / redo / copy / paste / layout
  const step = useCallback(
    (dir: 'undo' | 'redo') => {
      const r = (dir === 'undo' ? undo : redo)(history.current, graphRef.current);
      if (!r) {
        return;
      }
      history.current = r.history;
      setCanUndo({ undo: r.history.past.length > 0, redo: r.history.future.length > 0 });
      // the view stays where the user is looking
      commit({ ...r.state, viewport: graphRef.current.viewport }, true, false);
    },
    [commit]
  );
  const copySelection = useCallback(() => {
    const ids = nodesRef.current.filter(n => n.selected).map(n => n.id);
    const frag = copyFragment(graphRef.current, ids);
    if (frag) {
      clipboard = frag;
      setToast(`Copied ${frag.nodes.length} block${frag.nodes.length === 1 ? '' : 's'}`, true);
    }
  }, [setToast]);
  const paste = useCallback(() => {
    if (!clipboard) {
      return;
    }
    const { graph: g, ids } = pasteFragment(graphRef.current, clipboard, { x: 48, y: 48 });
    commit(g);
    const chosen = new Set(ids);
    setNodes(prev => prev.map(n => (chosen.has(n.id) !== Boolean(n.selected) ? { ...n, selected: chosen.has(n.id) } : n)));
  }, [commit]);
  const layout = useCallback(() => {
    const sizes = new Map(nodesRef.current.map(n => [n.id, n.measured]));
    const g = autoLayout(graphRef.current, n => ({
      width: sizes.get(n.id)?.width ?? DEFAULT_NODE_SIZE.width,
      height: sizes.get(n.id)?.height ?? DEFAULT_NODE_SIZE.height
    }));
    commit(g);
    setTimeout(() => void rf.fitView({ padding: 0.15 }), 50);
  }, [commit, rf]);

  // keyboard shortcuts of the canvas (keys from form fields are left alone)
  useEffect(() => {
    const root = wrapper.current?.closest('.sdl-root') as HTMLElement | null;
    if (!root) {
      return;
    }
    const onKey = (ev: KeyboardEvent) => {
      const t = ev.target as HTMLElement | null;
      if (t && (EDITABLE.test(t.tagName) || t.isContentEditable)) {
        return;
      }
      if (!(ev.ctrlKey || ev.metaKey) || ev.altKey) {
        return;
      }
      const key = ev.key.toLowerCase();
      const act =
        key === 'z' ? (ev.shiftKey ? 'redo' : 'undo') : key === 'y' ? 'redo' : key === 'c' ? 'copy' : key === 'v' ? 'paste' : null;
      if (!act) {
        return;
      }
      ev.preventDefault();
      ev.stopPropagation();
      if (act === 'undo' || act === 'redo') {
        step(act);
      } else if (act === 'copy') {
        copySelection();
      } else {
        paste();
      }
    };
    root.addEventListener('keydown', onKey);
    return () => root.removeEventListener('keydown', onKey);
  }, [step, copySelection, paste]);
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
    (_event: unknown, vp: Viewport) => commit(withViewport(graphRef.current, vp), false, false),
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
      } else if (msg.type === 'toast' && claimNonce(model, msg.nonce)) {
        setToast(String(msg.message ?? ''));
      } else if (msg.type === 'insert_cell' && !claimNonce(model, msg.nonce)) {
        return; // another view of this widget handles it
      } else if (msg.type === 'insert_cell' && !notebookHook()) {
        // VS Code, Colab, ...: no extension to insert a cell; the code goes to the clipboard
        const code = String(msg.code ?? '');
        void copyText(code).then(ok => {
          setToast(
            ok
              ? 'Copied the code to the clipboard: paste it into a new cell (this front end cannot insert cells).'
              : 'Could not insert a cell or copy the code here; use canvas.to_code() in a cell.',
            ok
          );
          model.send({ type: 'insert_cell_result', nonce: msg.nonce, ok: false, copied: ok, error: 'no extension' });
        });
      } else if (msg.type === 'insert_cell') {
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
    [model, rf, setToast]
  );
  useModelEvents(model, onEvent);

  const selected = useMemo(
    () => graph.nodes.find(n => n.id === selectedId) ?? null,
    [graph, selectedId]
  );
  const vp = graph.viewport;
  const initialFit =
    graph.nodes.length > 0 && (!vp || (vp.x === 0 && vp.y === 0 && vp.zoom === 1));

  // edge labels: the shape each edge carries, from the analysis of its source node
  const shownEdges = useMemo(() => {
    const info = analysis?.nodes ?? {};
    return edges.map(e => {
      const label = edgeLabel(info[e.source]?.shape);
      return label ? { ...e, label } : e;
    });
  }, [edges, analysis]);

  return (
    <div className="sdl-canvas" ref={wrapper} style={{ height }}>
      <Palette onAdd={add} />
      <div className="sdl-flow" onDragOver={onDragOver} onDrop={onDrop}>
        <div className="sdl-toolbar">
          <Totals />
          <TemplatesMenu
            templates={templates}
            onChoose={(name, size) => {
              fitNext.current = true;
              model.send({ type: 'load_template', name, size });
            }}
          />
          <Button onClick={() => step('undo')} disabled={!canUndo.undo} title="Undo (Ctrl/Cmd+Z)" data-action="undo">
            ↶
          </Button>
          <Button onClick={() => step('redo')} disabled={!canUndo.redo} title="Redo (Ctrl/Cmd+Shift+Z or Ctrl+Y)" data-action="redo">
            ↷
          </Button>
          <Button onClick={layout} title="Arrange the blocks top to bottom" data-action="layout">
            Layout
          </Button>
          <Button onClick={() => void rf.fitView({ padding: 0.15 })} title="Fit the graph in view" data-action="fit">
            Fit
          </Button>
          <Button
            variant="primary"
            onClick={() => model.send({ type: 'request_code' })}
            title="Put PyTorch code that builds this model (sd.to_code) in a new cell below"
            data-action="export-code"
          >
            Export code ↓
          </Button>
        </div>
        <ReactFlow
          nodes={nodes}
          edges={shownEdges}
          nodeTypes={types}
          onNodesChange={onNodesChange}
          onEdgesChange={onEdgesChange}
          onNodeDragStop={onNodeDragStop}
          onConnect={onConnect}
          onConnectEnd={onConnectEnd}
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
          <MiniMap pannable zoomable ariaLabel="Overview" style={{ width: 140, height: 96 }} />
        </ReactFlow>
        {toast && (
          <div
            className={`sdl-toast${toast.info ? ' sdl-toast-info' : ''}`}
            role={toast.info ? 'status' : 'alert'}
            onClick={() => setToast(null)}
          >
            {toast.text}
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
