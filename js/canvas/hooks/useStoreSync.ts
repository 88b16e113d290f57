/**
 * Mirror the model values that many components read (catalogue, analysis,
 * language) into the canvas store, where components select slices of them.
 * Each value is read again right after subscribing, so a change that
 * arrives before the subscription is never lost (issue #16).
 */
import { useEffect } from 'react';

import type { AnyModel } from '../../shared/anywidget';
import type { CanvasState as CanvasModel } from '../../shared/contract';
import type { Store } from '../../shared/store';
import { resolveLanguage } from '../../shared/i18n';
import { CanvasState, indexBlocks } from '../store';
import { analysisOf, catalogOf } from '../types';

export type StoreSyncedModel = Pick<CanvasModel, 'catalog' | 'analysis_json' | 'language' | 'tokenizer_vocab'>;

/** The store's state from the model as it is now. */
export function stateFrom(
  model: AnyModel<StoreSyncedModel>
): Pick<CanvasState, 'catalog' | 'blocks' | 'analysis' | 'language' | 'tokenizerVocab'> {
  const catalog = catalogOf(model.get('catalog'));
  return {
    catalog,
    blocks: indexBlocks(catalog),
    analysis: analysisOf(model.get('analysis_json')),
    language: resolveLanguage(model.get('language')),
    tokenizerVocab: model.get('tokenizer_vocab') ?? null
  };
}

export function useStoreSync(model: AnyModel<StoreSyncedModel>, store: Store<CanvasState>): void {
  useEffect(() => {
    const readers: Record<keyof StoreSyncedModel, () => void> = {
      catalog: () => {
        const catalog = catalogOf(model.get('catalog'));
        store.setState({ catalog, blocks: indexBlocks(catalog) });
      },
      analysis_json: () => store.setState({ analysis: analysisOf(model.get('analysis_json')) }),
      language: () => store.setState({ language: resolveLanguage(model.get('language')) }),
      tokenizer_vocab: () => store.setState({ tokenizerVocab: model.get('tokenizer_vocab') ?? null })
    };
    const entries = Object.entries(readers);
    for (const [key, read] of entries) {
      model.on(`change:${key}`, read);
    }
    for (const [, read] of entries) {
      read(); // after subscribing: nothing can slip in between
    }
    return () => {
      for (const [key, read] of entries) {
        model.off(`change:${key}`, read);
      }
    };
  }, [model, store]);
}
