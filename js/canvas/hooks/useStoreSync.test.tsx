// @vitest-environment happy-dom
import { act, renderHook } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { fakeModel } from '../../shared/testing/fakeModel';
import { createCanvasStore } from '../store';
import { analysis, block, catalogWith } from '../../shared/testing/catalog';
import { StoreSyncedModel, useStoreSync } from './useStoreSync';

const CATALOG = catalogWith([block('dropout')]);

function model() {
  return fakeModel<StoreSyncedModel>({ catalog: {}, analysis_json: {}, language: 'en', tokenizer_vocab: null });
}

describe('useStoreSync', () => {
  it('copies catalogue, analysis and language into the store, and follows changes', () => {
    const m = model();
    const store = createCanvasStore();
    renderHook(() => useStoreSync(m, store));
    act(() => m.pySet('catalog', CATALOG));
    act(() => m.pySet('analysis_json', analysis({ params: 12 })));
    act(() => m.pySet('language', 'ko'));
    act(() => m.pySet('tokenizer_vocab', 65));
    const s = store.getState();
    expect(s.tokenizerVocab).toBe(65);
    expect(s.blocks.dropout?.title).toBe('Dropout');
    expect(s.analysis?.params).toBe(12);
    expect(s.language).toBe('ko');
  });

  it('keeps a value that changes right before it subscribes (issue #16)', () => {
    const m = model();
    m.beforeFirstSubscribe('change:catalog', () => m.pySet('catalog', CATALOG));
    m.beforeFirstSubscribe('change:language', () => m.pySet('language', 'ko'));
    m.beforeFirstSubscribe('change:analysis_json', () => m.pySet('analysis_json', analysis({ ok: false })));
    const store = createCanvasStore();
    renderHook(() => useStoreSync(m, store));
    expect(store.getState().language).toBe('ko');
    expect(Object.keys(store.getState().blocks)).toEqual(['dropout']);
    expect(store.getState().analysis?.ok).toBe(false);
  });

  it('stops following the model when unmounted', () => {
    const m = model();
    const { unmount } = renderHook(() => useStoreSync(m, createCanvasStore()));
    unmount();
    expect(['catalog', 'analysis_json', 'language', 'tokenizer_vocab'].map(k => m.listeners(`change:${k}`))).toEqual([0, 0, 0, 0]);
  });
});
