// @vitest-environment happy-dom
import { act, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { TOAST_MS, useToast } from './useToast';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('useToast', () => {
  it('shows a message and hides it by itself', () => {
    const { result } = renderHook(() => useToast());
    act(() => result.current.show('Not connected: that input is already connected.'));
    expect(result.current.toast).toEqual({ text: 'Not connected: that input is already connected.', info: false });
    act(() => vi.advanceTimersByTime(TOAST_MS - 1));
    expect(result.current.toast).not.toBeNull();
    act(() => vi.advanceTimersByTime(1));
    expect(result.current.toast).toBeNull();
  });

  it('a new message replaces the old one and gets its own full time', () => {
    const { result } = renderHook(() => useToast(1000));
    act(() => result.current.show('first'));
    act(() => vi.advanceTimersByTime(900));
    act(() => result.current.show('Copied 2 blocks', true));
    act(() => vi.advanceTimersByTime(900));
    expect(result.current.toast).toEqual({ text: 'Copied 2 blocks', info: true });
    act(() => vi.advanceTimersByTime(100));
    expect(result.current.toast).toBeNull();
  });

  it('null hides it at once', () => {
    const { result } = renderHook(() => useToast());
    act(() => result.current.show('x'));
    act(() => result.current.show(null));
    expect(result.current.toast).toBeNull();
  });
});
