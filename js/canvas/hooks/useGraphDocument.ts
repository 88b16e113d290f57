/**
 * The design being edited: Python's `graph` traitlet mirrored in React state,
 * with undo/redo and both sync directions.
 *
 * - Python → page: every `change:graph` replaces the document (and can be
 *   undone, like any edit). The traitlet is read again at the moment the hook
 *   subscribes, so a graph that arrives between the first render and the
 *   subscription is never lost (issue #16).
 * - Page → Python: `commit` writes the new graph at once. Our own writes are
 *   recognised by identity when they echo back, so they never loop.
 */
import { useCallback, useEffect, useRef, useState } from 'react';

import type { AnyModel } from '../../shared/anywidget';
import type { Graph as GraphJSON } from '../../shared/contract';
import { Graph, normalizeGraph } from '../graph';
import { createHistory, History, record, redo as redoStep, undo as undoStep } from '../history';

export const HISTORY_LIMIT = 100;

export interface CommitOptions {
  /** Record an undo step (default). Viewport moves and undo/redo themselves do not. */
  remember?: boolean;
}

export interface GraphDocument {
  /** The graph the canvas shows. */
  graph: Graph;
  /** The latest graph, for event handlers that must not close over a stale render. */
  current(): Graph;
  /** A user edit: show it and write it to Python (false: refused by the guard, or no change). */
  commit(next: Graph, options?: CommitOptions): boolean;
  undo(): void;
  redo(): void;
  canUndo: boolean;
  canRedo: boolean;
}

export interface GraphDocumentOptions {
  limit?: number;
  /** Called after Python replaced the graph (`before` is what the page showed). */
  onExternal?: (next: Graph, before: Graph) => void;
  /** Whether a user edit (or undo/redo) may happen; a refused one leaves the design as it was. */
  guard?: (next: Graph, before: Graph) => boolean;
}

function sameDesign(a: Graph, b: Graph): boolean {
  return a.nodes === b.nodes && a.edges === b.edges;
}

export function useGraphDocument(
  model: AnyModel<{ graph: GraphJSON }>,
  { limit = HISTORY_LIMIT, onExternal, guard }: GraphDocumentOptions = {}
): GraphDocument {
  const [graph, setGraph] = useState<Graph>(() => normalizeGraph(model.get('graph')));
  const graphRef = useRef(graph);
  /** The raw value the first render read, or the last one we wrote: not news when it comes back. */
  const known = useRef<unknown>(model.get('graph'));
  const history = useRef<History<Graph>>(createHistory<Graph>(limit));
  const [steps, setSteps] = useState({ undo: false, redo: false });
  const external = useRef(onExternal);
  external.current = onExternal;
  const allowed = useRef(guard);
  allowed.current = guard;

  const show = useCallback((g: Graph, h: History<Graph>) => {
    history.current = h;
    graphRef.current = g;
    setGraph(g);
    setSteps({ undo: h.past.length > 0, redo: h.future.length > 0 });
  }, []);

  // Python → page
  useEffect(() => {
    const onGraph = () => {
      const raw = model.get('graph');
      if (raw === known.current) {
        return; // what we already show (our own write, or the value of the first render)
      }
      known.current = raw;
      const next = normalizeGraph(raw);
      const before = graphRef.current;
      // Python's edits can be undone too
      show(next, sameDesign(before, next) ? history.current : record(history.current, before));
      external.current?.(next, before);
    };
    model.on('change:graph', onGraph);
    onGraph(); // a graph set after the first render and before this subscription
    return () => model.off('change:graph', onGraph);
  }, [model, show]);

  const commit = useCallback(
    (next: Graph, { remember = true }: CommitOptions = {}): boolean => {
      const before = graphRef.current;
      if (next === before) {
        return false;
      }
      if (allowed.current && !allowed.current(next, before)) {
        // React Flow may already show the refused edit (a deletion): derive its elements again
        show({ ...before, nodes: [...before.nodes], edges: [...before.edges] }, history.current);
        return false;
      }
      show(next, remember ? record(history.current, before) : history.current);
      known.current = next;
      model.set('graph', next);
      model.save_changes();
      return true;
    },
    [model, show]
  );

  const step = useCallback(
    (dir: 'undo' | 'redo') => {
      const r = (dir === 'undo' ? undoStep : redoStep)(history.current, graphRef.current);
      if (!r) {
        return;
      }
      const kept = history.current;
      history.current = r.history;
      // the view stays where the user is looking
      if (!commit({ ...r.state, viewport: graphRef.current.viewport }, { remember: false })) {
        history.current = kept;
      }
    },
    [commit]
  );
  const undo = useCallback(() => step('undo'), [step]);
  const redo = useCallback(() => step('redo'), [step]);
  const current = useCallback(() => graphRef.current, []);

  return { graph, current, commit, undo, redo, canUndo: steps.undo, canRedo: steps.redo };
}
