// @vitest-environment happy-dom
import { cleanup, fireEvent, render } from '@testing-library/react';
import React, { useRef } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { shortcutOf, ShortcutHandlers, useShortcuts } from './useShortcuts';

afterEach(cleanup);

describe('shortcutOf', () => {
  const key = (k: string, mods: Partial<KeyboardEvent> = {}) =>
    shortcutOf({ key: k, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...mods });

  it('maps Ctrl and Cmd combinations to actions', () => {
    expect(key('z', { ctrlKey: true })).toBe('undo');
    expect(key('Z', { metaKey: true, shiftKey: true })).toBe('redo');
    expect(key('y', { ctrlKey: true })).toBe('redo');
    expect(key('c', { metaKey: true })).toBe('copy');
    expect(key('v', { ctrlKey: true })).toBe('paste');
  });

  it('ignores plain keys, Alt combinations and other letters', () => {
    expect(key('z')).toBeNull();
    expect(key('z', { ctrlKey: true, altKey: true })).toBeNull();
    expect(key('a', { ctrlKey: true })).toBeNull();
  });
});

function Widget({ handlers }: { handlers: ShortcutHandlers }) {
  const inner = useRef<HTMLDivElement>(null);
  useShortcuts(inner, handlers);
  return (
    <div className="sdl-root" data-testid="root">
      <div ref={inner} data-testid="canvas">
        <input data-testid="field" />
      </div>
      <button data-testid="outside-canvas-but-inside-widget" />
    </div>
  );
}

function handlers(): ShortcutHandlers {
  return { undo: vi.fn(), redo: vi.fn(), copy: vi.fn(), paste: vi.fn() };
}

describe('useShortcuts', () => {
  it('acts on keys anywhere in the widget and keeps them from the notebook', () => {
    const h = handlers();
    const { getByTestId } = render(<Widget handlers={h} />);
    const outer = vi.fn();
    document.addEventListener('keydown', outer);
    fireEvent.keyDown(getByTestId('canvas'), { key: 'z', ctrlKey: true });
    fireEvent.keyDown(getByTestId('outside-canvas-but-inside-widget'), { key: 'v', metaKey: true });
    expect(h.undo).toHaveBeenCalledTimes(1);
    expect(h.paste).toHaveBeenCalledTimes(1);
    expect(outer).not.toHaveBeenCalled(); // the notebook's own Ctrl+Z/V never see them
    document.removeEventListener('keydown', outer);
  });

  it('leaves keys typed in a form field to the field', () => {
    const h = handlers();
    const { getByTestId } = render(<Widget handlers={h} />);
    fireEvent.keyDown(getByTestId('field'), { key: 'z', ctrlKey: true });
    fireEvent.keyDown(getByTestId('field'), { key: 'c', ctrlKey: true });
    expect(h.undo).not.toHaveBeenCalled();
    expect(h.copy).not.toHaveBeenCalled();
  });

  it('calls the latest handlers after a re-render, and nothing after unmount', () => {
    const first = handlers();
    const second = handlers();
    const { getByTestId, rerender, unmount } = render(<Widget handlers={first} />);
    rerender(<Widget handlers={second} />);
    const root = getByTestId('root');
    fireEvent.keyDown(root, { key: 'y', ctrlKey: true });
    expect(first.redo).not.toHaveBeenCalled();
    expect(second.redo).toHaveBeenCalledTimes(1);
    unmount();
    fireEvent.keyDown(root, { key: 'y', ctrlKey: true });
    expect(second.redo).toHaveBeenCalledTimes(1);
  });
});
