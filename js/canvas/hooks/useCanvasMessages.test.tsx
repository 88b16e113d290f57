// @vitest-environment happy-dom
import { act, renderHook, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { Experimental } from '../../shared/anywidget';
import { fakeModel } from '../../shared/testing/fakeModel';
import { EXPORT_COMMAND, useCanvasMessages } from './useCanvasMessages';

type Hooked = typeof globalThis & { __slamdunkLab?: unknown };

function withExtension() {
  const insertCellBelow = vi.fn(async () => ({ path: 'a.ipynb', index: 3, anchored: true }));
  (globalThis as Hooked).__slamdunkLab = { version: 1, insertCellBelow };
  return insertCellBelow;
}

afterEach(() => {
  delete (globalThis as Hooked).__slamdunkLab;
  vi.restoreAllMocks();
});

function setup(experimental?: Experimental) {
  const model = fakeModel({ graph: {} });
  const anchor = { current: document.createElement('div') };
  const handlers = { fitView: vi.fn(), toast: vi.fn() };
  const hook = renderHook(() => useCanvasMessages(model, experimental, anchor, handlers));
  return { ...hook, model, anchor, handlers };
}

describe('useCanvasMessages: events from Python', () => {
  it('says hello with whether the page can insert cells', () => {
    withExtension();
    const { model } = setup();
    expect(model.sent).toEqual([{ type: 'hello', hook: true }]);
  });

  it('fits the view and shows a toast once per nonce (the same widget shown twice acts once)', () => {
    const { model, handlers } = setup();
    act(() => model.pySend({ type: 'fit_view' }));
    act(() => model.pySend({ type: 'toast', nonce: 7, message: 'Cannot load template x' }));
    act(() => model.pySend({ type: 'toast', nonce: 7, message: 'Cannot load template x' }));
    expect(handlers.fitView).toHaveBeenCalledTimes(1);
    expect(handlers.toast).toHaveBeenCalledTimes(1);
    expect(handlers.toast).toHaveBeenCalledWith('Cannot load template x');
  });

  it('inserts code Python sends below the canvas and reports the result', async () => {
    const insert = withExtension();
    const { model, anchor } = setup();
    act(() => model.pySend({ type: 'insert_cell', nonce: 11, code: 'x = 1', run: true }));
    await waitFor(() => expect(model.sent.at(-1)).toMatchObject({ type: 'insert_cell_result', nonce: 11, ok: true }));
    expect(insert).toHaveBeenCalledWith({ code: 'x = 1', anchor: anchor.current, run: true });
    expect(model.sent.at(-1)).toEqual({
      type: 'insert_cell_result', nonce: 11, ok: true, path: 'a.ipynb', index: 3, anchored: true
    });
  });

  it('without the extension the code goes to the clipboard, and the user is told', async () => {
    const write = vi.fn(async () => undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText: write }, configurable: true });
    const { model, handlers } = setup();
    act(() => model.pySend({ type: 'insert_cell', nonce: 12, code: 'y = 2' }));
    await waitFor(() => expect(model.sent.at(-1)).toMatchObject({ type: 'insert_cell_result', nonce: 12 }));
    expect(write).toHaveBeenCalledWith('y = 2');
    expect(model.sent.at(-1)).toEqual({ type: 'insert_cell_result', nonce: 12, ok: false, copied: true, error: 'no extension' });
    expect(handlers.toast).toHaveBeenCalledWith(expect.stringMatching(/^Copied the code to the clipboard/), true);
  });
});

describe('useCanvasMessages: Export code', () => {
  it('is one request to the kernel command, with a timeout; the answer becomes a cell below', async () => {
    const insert = withExtension();
    const invoke = vi.fn(async () => [{ ok: true, code: 'model = build_model()' }, []] as never);
    const { result, anchor } = setup({ invoke });
    await act(() => result.current.exportCode());
    expect(invoke).toHaveBeenCalledTimes(1);
    const [name, msg, options] = invoke.mock.calls[0] as unknown as [string, unknown, { signal: AbortSignal }];
    expect(name).toBe(EXPORT_COMMAND);
    expect(msg).toEqual({});
    expect(options.signal).toBeInstanceOf(AbortSignal);
    expect(insert).toHaveBeenCalledWith({ code: 'model = build_model()', anchor: anchor.current, run: false });
  });

  it("shows the kernel's reason when the design cannot be exported", async () => {
    const insert = withExtension();
    const invoke = vi.fn(async () => [{ ok: false, error: 'Cannot export code: attn: n_heads …' }, []] as never);
    const { result, handlers } = setup({ invoke });
    await act(() => result.current.exportCode());
    expect(handlers.toast).toHaveBeenCalledWith('Cannot export code: attn: n_heads …');
    expect(insert).not.toHaveBeenCalled();
  });

  it('says so when the kernel does not answer in time', async () => {
    withExtension();
    const invoke = vi.fn(async () => {
      throw new DOMException('signal timed out', 'TimeoutError');
    });
    const { result, handlers } = setup({ invoke });
    await act(() => result.current.exportCode());
    expect(handlers.toast).toHaveBeenCalledWith(expect.stringMatching(/did not answer within 60 s/));
  });
});
