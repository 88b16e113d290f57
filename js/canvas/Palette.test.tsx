// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import React from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { DRAG_MIME, Palette } from './Palette';
import { CanvasStoreContext, createCanvasStore, indexBlocks } from './store';
import { block, catalogWith } from '../shared/testing/catalog';
import type { Catalog } from './types';

afterEach(cleanup);

const entry = (type: string, title: string, category: string) =>
  block(type, { title, category, docs: { en: { summary: `${title} does things.`, formula: '', shapes: '' } } });

const CATALOG = catalogWith(
  [
    entry('attention', 'Causal self-attention', 'attention'),
    entry('tokenEmbedding', 'Token embedding', 'embedding'),
    entry('positionalEmbedding', 'Positional embedding', 'embedding')
  ],
  ['embedding', 'attention', 'empty']
);

function show(catalog: Catalog | null = CATALOG) {
  const store = createCanvasStore({ catalog, blocks: indexBlocks(catalog) });
  const onAdd = vi.fn();
  render(
    <CanvasStoreContext.Provider value={store}>
      <Palette onAdd={onAdd} />
    </CanvasStoreContext.Provider>
  );
  return { store, onAdd };
}

describe('Palette', () => {
  it('lists the blocks by category in catalogue order, empty categories left out', () => {
    show();
    const items = [...document.querySelectorAll('.sdl-palette-category, .sdl-palette-item')].map(e => e.textContent);
    expect(items).toEqual(['embedding', 'Token embedding', 'Positional embedding', 'attention', 'Causal self-attention']);
  });

  it('a click adds the block; hovering shows its docs', () => {
    const { onAdd, store } = show();
    const item = screen.getByRole('button', { name: 'Causal self-attention' });
    expect(item.getAttribute('title')).toBe('Causal self-attention does things.');
    fireEvent.click(item);
    expect(onAdd).toHaveBeenCalledWith('attention');
    fireEvent.mouseEnter(item);
    expect(store.getState().docsType).toBe('attention');
    fireEvent.mouseLeave(item);
    expect(store.getState().docsType).toBeNull();
  });

  it('dragging a block carries its type for the canvas to drop', () => {
    show();
    const set = vi.fn();
    const item = screen.getByRole('button', { name: 'Token embedding' });
    expect(item.getAttribute('draggable')).toBe('true');
    fireEvent.dragStart(item, { dataTransfer: { setData: set, effectAllowed: 'none' } });
    expect(set).toHaveBeenCalledWith(DRAG_MIME, 'tokenEmbedding');
  });

  it('speaks Korean: its title, block titles and categories, and block help from the Korean docs', () => {
    const catalog = catalogWith([
      block('attention', {
        title: 'Causal self-attention',
        docs: {
          en: { summary: 'Looks back.', formula: '', shapes: '' },
          ko: { summary: '이전 위치를 봅니다.', formula: '', shapes: '' }
        }
      })
    ]);
    const store = createCanvasStore({ catalog, blocks: indexBlocks(catalog), language: 'ko' });
    render(
      <CanvasStoreContext.Provider value={store}>
        <Palette onAdd={vi.fn()} />
      </CanvasStoreContext.Provider>
    );
    expect(screen.getByText('블록')).toBeTruthy();
    expect(screen.getByRole('button', { name: '인과적 셀프 어텐션' }).getAttribute('title')).toBe('이전 위치를 봅니다.');
    expect(screen.getByText('어텐션')).toBeTruthy(); // the category
    expect(screen.queryByText('Causal self-attention')).toBeNull();
  });

  it('says so when the catalogue did not arrive', () => {
    show(null);
    expect(screen.getByText('Block catalogue unavailable.')).toBeTruthy();
  });
});
