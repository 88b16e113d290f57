// @vitest-environment happy-dom
import { act, renderHook } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { useModelValue } from './model';
import { fakeModel } from './testing/fakeModel';

describe('useModelValue', () => {
  it('follows a traitlet and stops listening when unmounted', () => {
    const model = fakeModel<{ title: string }>({ title: 'a' });
    const { result, unmount } = renderHook(() => useModelValue<{ title: string }, 'title'>(model, 'title'));
    expect(result.current).toBe('a');
    act(() => model.pySet('title', 'b'));
    expect(result.current).toBe('b');
    unmount();
    expect(model.listeners('change:title')).toBe(0);
  });

  it('keeps a value that changes while it subscribes (issue #16)', () => {
    const model = fakeModel<{ title: string }>({ title: 'before' });
    model.beforeFirstSubscribe('change:title', () => model.pySet('title', 'in the gap'));
    const { result } = renderHook(() => useModelValue<{ title: string }, 'title'>(model, 'title'));
    expect(result.current).toBe('in the gap');
  });
});
