// @vitest-environment happy-dom
/**
 * The monitor, playground and runs bundles run on Preact's React API (`preact/compat`, aliased at build time):
 * the model hook must keep its promise there too.
 */
import { createElement, render } from 'preact';
import { act } from 'preact/test-utils';
import { describe, expect, it, vi } from 'vitest';

import { fakeModel } from './testing/fakeModel';

vi.mock('react', async () => await import('preact/compat'));

describe('useModelValue on Preact', () => {
  it('keeps a value that changes while it subscribes, and follows later changes', async () => {
    const { useModelValue } = await import('./model');
    const model = fakeModel<{ title: string }>({ title: 'before' });
    model.beforeFirstSubscribe('change:title', () => model.pySet('title', 'in the gap'));
    const seen: string[] = [];
    function Title() {
      const title = useModelValue<{ title: string }, 'title'>(model, 'title');
      seen.push(title);
      return createElement('b', null, title);
    }
    const root = document.createElement('div');
    act(() => render(createElement(Title, null), root));
    expect(root.textContent).toBe('in the gap');
    act(() => model.pySet('title', 'later'));
    expect(root.textContent).toBe('later');
    expect(seen[0]).toBe('before'); // the first render read the old value: the subscription caught up
    act(() => render(null, root));
    expect(model.listeners('change:title')).toBe(0);
  });
});
