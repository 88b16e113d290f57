// @vitest-environment happy-dom
/** The design file's controls: Save, Save as… (asks before replacing a file), Open…; the locked inspector. */
import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import React from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { DesignFileResponse } from '../shared/contract';
import type { GraphNode } from './graph';
import type { DesignFiles } from './hooks/useDesignFiles';
import { Inspector } from './Inspector';
import { CanvasStoreContext, createCanvasStore, indexBlocks } from './store';
import { FileBar } from './Toolbar';
import { block, catalogWith } from '../shared/testing/catalog';

afterEach(cleanup);

const answer = (a: Partial<DesignFileResponse>): DesignFileResponse => ({
  ok: true, file: null, error: null, exists: null, files: null, ...a
});

function show(file: string, files: DesignFiles, toast = vi.fn()) {
  const store = createCanvasStore({ language: 'en' });
  render(
    <CanvasStoreContext.Provider value={store}>
      <FileBar file={file} name="canvas" files={files} toast={toast} />
    </CanvasStoreContext.Provider>
  );
  return toast;
}

function click(action: string) {
  fireEvent.click(document.querySelector(`[data-action="${action}"]`) as Element);
}

describe('FileBar', () => {
  it('Save without a file asks for a name; an existing file is replaced only when asked again', async () => {
    const save = vi
      .fn()
      .mockResolvedValueOnce(answer({ ok: false, exists: true, error: "'designs/canvas.json' already exists" }))
      .mockResolvedValueOnce(answer({ file: 'designs/canvas.json' }));
    const files: DesignFiles = { save, list: vi.fn(), open: vi.fn() };
    const toast = show('', files);
    expect(screen.getByText('no file')).toBeTruthy();
    click('save');
    const input = document.querySelector('[data-field="file-name"]') as HTMLInputElement;
    expect(input.value).toBe('designs/canvas.json');
    await act(async () => click('file-ok'));
    expect(save).toHaveBeenLastCalledWith('designs/canvas.json', false);
    await waitFor(() => expect(screen.getByRole('alert').textContent).toContain('already exists'));
    expect(document.querySelector('[data-action="file-ok"]')?.textContent).toBe('Replace');
    await act(async () => click('file-ok'));
    expect(save).toHaveBeenLastCalledWith('designs/canvas.json', true);
    await waitFor(() => expect(toast).toHaveBeenCalledWith('Saved to designs/canvas.json', true));
    expect(document.querySelector('.sdl-file-dialog')).toBeNull();
  });

  it('Save with a file saves at once; Open lists the design files and opens the chosen one', async () => {
    const files: DesignFiles = {
      save: vi.fn().mockResolvedValue(answer({ file: 'a.json' })),
      list: vi.fn().mockResolvedValue(answer({ files: ['a.json', 'designs/b.json'] })),
      open: vi.fn().mockResolvedValue(answer({ file: 'designs/b.json' }))
    };
    const toast = show('a.json', files);
    await act(async () => click('save'));
    expect(files.save).toHaveBeenCalledWith();
    expect(toast).toHaveBeenCalledWith('Saved to a.json', true);
    await act(async () => click('open'));
    const select = document.querySelector('[data-field="design-file"]') as HTMLSelectElement;
    expect(Array.from(select.options).map(o => o.value)).toEqual(['a.json', 'designs/b.json']);
    expect(select.value).toBe('a.json');
    fireEvent.change(select, { target: { value: 'designs/b.json' } });
    await act(async () => click('file-ok'));
    expect(files.open).toHaveBeenCalledWith('designs/b.json');
    expect(toast).toHaveBeenLastCalledWith('Opened designs/b.json', true);
  });

  it('says why the kernel refused', async () => {
    const files: DesignFiles = {
      save: vi.fn(),
      list: vi.fn().mockResolvedValue(answer({ files: ['x.json'] })),
      open: vi.fn().mockResolvedValue(answer({ ok: false, error: 'This exercise has locked blocks' }))
    };
    const toast = show('x.json', files);
    await act(async () => click('open'));
    await act(async () => click('file-ok'));
    expect(toast).toHaveBeenLastCalledWith('This exercise has locked blocks');
  });
});

describe('Inspector of a locked block', () => {
  it('is read-only and says why', () => {
    const catalog = catalogWith([block('attention')]);
    const store = createCanvasStore({ catalog, blocks: indexBlocks(catalog), language: 'ko' });
    const onCommit = vi.fn();
    const node: GraphNode = { id: 'attn', type: 'attention', position: { x: 0, y: 0 }, data: { n_heads: 4 }, locked: true };
    render(
      <CanvasStoreContext.Provider value={store}>
        <Inspector node={node} onCommit={onCommit} />
      </CanvasStoreContext.Provider>
    );
    expect(document.querySelector('.sdl-locked-note')?.textContent).toContain('과제에서 잠근 블록입니다');
    expect((document.querySelector('fieldset.sdl-fields') as HTMLFieldSetElement).disabled).toBe(true);
  });
});
