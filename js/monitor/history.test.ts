import { describe, expect, it } from 'vitest';

import type { AnyModel } from '../shared/anywidget';
import { HistoryStore, historyStore, initHistory, mergeAppend, missingPoints } from './history';

function fakeModel(count: number) {
  const sent: unknown[] = [];
  const model = {
    get: () => count,
    send: (m: unknown) => sent.push(m)
  } as unknown as AnyModel<{ count: number }>;
  return { model, sent };
}

describe('monitor history merging', () => {
  const p = (step: number) => ({ step, loss: 1 / (step + 1) });

  it('appends in order, overwrites overlaps and reports gaps', () => {
    expect(mergeAppend([p(0)], 1, [p(1), p(2)])).toEqual([p(0), p(1), p(2)]);
    expect(mergeAppend([p(0), p(1), p(2)], 1, [p(1)])).toEqual([p(0), p(1), p(2)]);
    expect(mergeAppend([p(0)], 3, [p(3)])).toBeNull();
    expect(mergeAppend([], -1, [p(0)])).toBeNull();
    expect(missingPoints(2, 5)).toBe(true);
    expect(missingPoints(5, 5)).toBe(false);
  });

  it('asks for a full sync once on a gap and takes the reset', () => {
    const { model, sent } = fakeModel(0);
    const store = new HistoryStore(model);
    expect(store.handle({ type: 'append', start: 0, points: [p(0), p(1)] })).toBe(true);
    expect(store.points.length).toBe(2);
    store.handle({ type: 'append', start: 5, points: [p(5)] });
    store.handle({ type: 'append', start: 6, points: [p(6)] });
    expect(sent).toEqual([{ type: 'sync' }]);
    expect(store.points.length).toBe(2);
    store.handle({ type: 'reset', points: [0, 1, 2, 3, 4, 5, 6].map(p) });
    expect(store.points.length).toBe(7);
    store.handle({ type: 'append', start: 7, points: [p(7)] });
    expect(store.points.map(r => r.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(store.handle({ type: 'stop' })).toBe(false);
  });

  it('syncs when the model says more points exist than it holds', () => {
    const { model, sent } = fakeModel(40);
    const store = new HistoryStore(model);
    store.check();
    expect(sent).toEqual([{ type: 'sync' }]);
  });
});

describe('one store per monitor model', () => {
  function proxy(key: string, listeners: Record<string, ((m: unknown) => void)[]>) {
    // anywidget gives initialize and each view its own proxy object of the same model
    return {
      get: (k: string) => (k === '_store_key' ? key : 0),
      send: () => undefined,
      on: (ev: string, cb: (m: unknown) => void) => (listeners[ev] ??= []).push(cb)
    } as unknown as AnyModel<{ count: number }>;
  }

  it('shares the points between the proxies of one model, and forgets them with the model', () => {
    const listeners: Record<string, ((m: unknown) => void)[]> = {};
    const cleanup = initHistory(proxy('k1', listeners));
    listeners['msg:custom'].forEach(cb => cb({ type: 'append', start: 0, points: [{ step: 1, loss: 2 }] }));
    const view = historyStore(proxy('k1', {}));
    expect(view.points).toEqual([{ step: 1, loss: 2 }]);
    expect(historyStore(proxy('k2', {}))).not.toBe(view);
    cleanup();
    expect(historyStore(proxy('k1', {}))).not.toBe(view);
  });
});
