/**
 * Undo/redo of committed graph edits: a bounded stack of graph snapshots.
 * Pure (no React): the canvas pushes the graph *before* each committed edit.
 */
export interface History<T> {
  past: T[];
  future: T[];
  limit: number;
}

export function createHistory<T>(limit = 100): History<T> {
  return { past: [], future: [], limit: Math.max(1, limit) };
}

/** Record `before` (the state an edit replaced); clears the redo stack. */
export function record<T>(h: History<T>, before: T): History<T> {
  const past = [...h.past, before];
  return { ...h, past: past.length > h.limit ? past.slice(past.length - h.limit) : past, future: [] };
}

/** Step back from `current`: the state to show and the new history, or null when there is nothing to undo. */
export function undo<T>(h: History<T>, current: T): { state: T; history: History<T> } | null {
  if (h.past.length === 0) {
    return null;
  }
  const state = h.past[h.past.length - 1];
  return { state, history: { ...h, past: h.past.slice(0, -1), future: [current, ...h.future] } };
}

/** Step forward again after an undo. */
export function redo<T>(h: History<T>, current: T): { state: T; history: History<T> } | null {
  if (h.future.length === 0) {
    return null;
  }
  const [state, ...future] = h.future;
  return { state, history: { ...h, past: [...h.past, current], future } };
}
