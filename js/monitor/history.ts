/**
 * The monitor's points on the page: batched appends from Python, merged in
 * order; a gap (a batch missed while the model was loading, a reloaded page)
 * asks Python for the whole history once.
 */
import type { AnyModel } from '../shared/anywidget';
import type { Append, MonitorToPython, Reset } from '../shared/contract';

export type Row = Record<string, unknown>;

/**
 * `points` with `batch` written from index `start` on; null when `start` is
 * past the end (points are missing: the caller must ask for a full sync).
 */
export function mergeAppend(points: readonly Row[], start: number, batch: readonly Row[]): Row[] | null {
  if (!Number.isInteger(start) || start < 0 || start > points.length) {
    return null;
  }
  if (start === points.length) {
    return points.concat(batch);
  }
  // a batch overlapping what we hold (sent again after a sync): the batch wins
  return points.slice(0, start).concat(batch, points.slice(start + batch.length));
}

/** Whether the page holds fewer points than Python has sent (`count`). */
export function missingPoints(held: number, count: unknown): boolean {
  return typeof count === 'number' && count > held;
}

/** A monitor message from Python (`append` or `reset`), once its points are known to be a list. */
function pointsMessage(msg: unknown): Append | Reset | null {
  const m = msg as Partial<Append | Reset> | null;
  return m && (m.type === 'append' || m.type === 'reset') && Array.isArray(m.points) ? (m as Append | Reset) : null;
}

/** The points of one monitor model, shared by all its views. */
export class HistoryStore {
  points: Row[] = [];
  private listeners = new Set<() => void>();
  private syncing = false;

  constructor(private model: AnyModel<{ count: number }>) {}

  subscribe = (cb: () => void): (() => void) => {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  };

  get = (): Row[] => this.points;

  private set(points: Row[]): void {
    this.points = points;
    this.listeners.forEach(cb => cb());
  }

  /** Ask Python for every point (once until the answer arrives). */
  requestSync(): void {
    if (!this.syncing) {
      this.syncing = true;
      this.model.send({ type: 'sync' } satisfies MonitorToPython);
    }
  }

  /** Handle one custom message from Python; returns whether it was ours. */
  handle(msg: unknown): boolean {
    const m = pointsMessage(msg);
    if (!m) {
      return false;
    }
    if (m.type === 'reset') {
      this.syncing = false;
      this.set(m.points);
      return true;
    }
    const merged = mergeAppend(this.points, Number(m.start), m.points);
    if (merged === null) {
      this.requestSync();
    } else {
      this.set(merged);
    }
    return true;
  }

  /** Compare with Python's `count` (on start and whenever it changes). */
  check(): void {
    if (missingPoints(this.points.length, this.model.get('count'))) {
      this.requestSync();
    }
  }
}

const stores = new Map<string, HistoryStore>();
const unkeyed = new WeakMap<object, HistoryStore>();

function create(model: AnyModel<{ count: number }>): HistoryStore {
  const s = new HistoryStore(model);
  model.on('msg:custom', (msg: unknown) => s.handle(msg));
  model.on('change:count', () => s.check());
  s.check();
  return s;
}

/**
 * The store of a monitor model, shared by all its views: found by the
 * model's `_store_key` (anywidget hands each view and `initialize` a
 * different proxy of the same model), listening from its first call on.
 */
export function historyStore(model: AnyModel<{ count: number }>): HistoryStore {
  const key = String((model as AnyModel<{ count: number; _store_key?: string }>).get('_store_key') ?? '');
  if (!key) {
    let s = unkeyed.get(model);
    if (!s) {
      s = create(model);
      unkeyed.set(model, s);
    }
    return s;
  }
  let store = stores.get(key);
  if (!store) {
    store = create(model);
    stores.set(key, store);
  }
  return store;
}

/** For anywidget `initialize`: create the model's store now; the cleanup forgets it with the model. */
export function initHistory(model: AnyModel<{ count: number }>): () => void {
  const key = String((model as AnyModel<{ count: number; _store_key?: string }>).get('_store_key') ?? '');
  const store = historyStore(model);
  return () => {
    if (key && stores.get(key) === store) {
      stores.delete(key);
    }
  };
}
