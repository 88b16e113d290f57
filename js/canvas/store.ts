/** The canvas view's store: state that node components read through selectors. */
import { createContext, useContext } from 'react';

import { createStore, Store, useStore } from '../shared/store';
import { GROUP_TYPE } from './graph';
import type { Analysis, Catalog, CatalogBlock, Language } from './types';

export interface CanvasState {
  catalog: Catalog;
  blocks: Record<string, CatalogBlock>;
  analysis: Analysis;
  language: Language;
  selectedId: string | null;
  selectedType: string | null;
  /** Block type whose docs the docs panel shows (palette hover, else selection). */
  docsType: string | null;
}

export function createCanvasStore(init: Partial<CanvasState> = {}): Store<CanvasState> {
  return createStore<CanvasState>({
    catalog: {},
    blocks: {},
    analysis: {},
    language: 'en',
    selectedId: null,
    selectedType: null,
    docsType: null,
    ...init
  });
}

export function indexBlocks(catalog: Catalog): Record<string, CatalogBlock> {
  const out: Record<string, CatalogBlock> = {};
  for (const b of catalog.blocks ?? []) {
    out[b.type] = b;
  }
  return out;
}

/** Whether blocks of `type` hold other blocks (a transformer block). */
export function isGroupType(blocks: Record<string, CatalogBlock | undefined>, type: string | undefined): boolean {
  return type === GROUP_TYPE || Boolean(type && blocks[type]?.is_group);
}

export const CanvasStoreContext = createContext<Store<CanvasState> | null>(null);

export function useCanvas<T>(selector: (s: CanvasState) => T, equal?: (a: T, b: T) => boolean): T {
  const store = useContext(CanvasStoreContext);
  if (!store) {
    throw new Error('useCanvas outside CanvasStoreContext');
  }
  return useStore(store, selector, equal);
}

export function useCanvasStore(): Store<CanvasState> {
  const store = useContext(CanvasStoreContext);
  if (!store) {
    throw new Error('useCanvasStore outside CanvasStoreContext');
  }
  return store;
}
