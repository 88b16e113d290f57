import { describe, expect, it } from 'vitest';

import { claimNonce } from './model';
import { createStore, shallowEqual } from './store';

describe('store', () => {
  it('notifies only on real changes', () => {
    const s = createStore({ a: 1, b: [1] });
    let calls = 0;
    const off = s.subscribe(() => calls++);
    s.setState({ a: 1 });
    expect(calls).toBe(0);
    s.setState(st => ({ a: st.a + 1 }));
    expect(calls).toBe(1);
    expect(s.getState()).toEqual({ a: 2, b: [1] });
    off();
    s.setState({ a: 3 });
    expect(calls).toBe(1);
  });

  it('compares shallowly', () => {
    expect(shallowEqual({ a: 1 }, { a: 1 })).toBe(true);
    expect(shallowEqual([1, 2], [1, 2])).toBe(true);
    expect(shallowEqual({ a: {} }, { a: {} })).toBe(false);
    expect(shallowEqual(null, {})).toBe(false);
  });

  it('claims one-shot event nonces once per model', () => {
    const m = {};
    expect(claimNonce(m, 1)).toBe(true);
    expect(claimNonce(m, 1)).toBe(false);
    expect(claimNonce({}, 1)).toBe(true);
    expect(claimNonce(m, undefined)).toBe(true);
  });
});
