/** The canvas view's store: state that node components read through selectors. */
import { createContext, useContext } from 'react';

import { createStore, Store, useStore } from '../shared/store';
import type { Blocks } from './graph';
import type { AnalysisResult, Catalog, CatalogBlock, Language } from './types';

export interface CanvasState {
  /** The block catalogue (null until it arrives). */
  catalog: Catalog | null;
  /** The catalogue by block type. */
  blocks: Blocks;
  /** The live analysis of the design (null until there is one). */
  analysis: AnalysisResult | null;
  language: Language;
  /** The tokenizer's vocabulary size the design follows (`canvas.set_vocab(tok)`), or null. */
  tokenizerVocab: number | null;
  selectedId: string | null;
  selectedType: string | null;
  /** Block type whose docs the docs panel shows (palette hover, else selection). */
  docsType: string | null;
}

export function createCanvasStore(init: Partial<CanvasState> = {}): Store<CanvasState> {
  return createStore<CanvasState>({
    catalog: null,
    blocks: {},
    analysis: null,
    language: 'en',
    tokenizerVocab: null,
    selectedId: null,
    selectedType: null,
    docsType: null,
    ...init
  });
}

export function indexBlocks(catalog: Catalog | null): Record<string, CatalogBlock> {
  const out: Record<string, CatalogBlock> = {};
  for (const b of catalog?.blocks ?? []) {
    out[b.type] = b;
  }
  return out;
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
