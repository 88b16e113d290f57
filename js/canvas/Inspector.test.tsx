// @vitest-environment happy-dom
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import React from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { GraphNode } from './graph';
import { Inspector } from './Inspector';
import { CanvasStoreContext, createCanvasStore, indexBlocks } from './store';
import { analysis as full, block, catalogWith } from '../shared/testing/catalog';
import type { AnalysisResult } from './types';

afterEach(cleanup);

const CATALOG = catalogWith([block('attention')]);

const NODE: GraphNode = { id: 'attn', type: 'attention', position: { x: 0, y: 0 }, data: { n_heads: 3, n_kv_heads: 2 } };

function show(node: GraphNode | null, analysis: AnalysisResult | null = null, language: 'en' | 'ko' = 'en') {
  const store = createCanvasStore({ catalog: CATALOG, blocks: indexBlocks(CATALOG), analysis, language });
  const onCommit = vi.fn();
  const view = render(
    <CanvasStoreContext.Provider value={store}>
      <Inspector node={node} onCommit={onCommit} />
    </CanvasStoreContext.Provider>
  );
  return { ...view, store, onCommit };
}

describe('Inspector', () => {
  it('asks for a selection when no block is selected', () => {
    show(null);
    expect(screen.getByText('Select a block to edit its settings.')).toBeTruthy();
  });

  it("shows a form for the block's settings: values, defaults, and the right kind of input", () => {
    show(NODE);
    expect(screen.getByText('Causal self-attention · attn')).toBeTruthy();
    expect((screen.getByLabelText('Heads') as HTMLInputElement).value).toBe('3');
    expect((screen.getByLabelText('Key/value heads') as HTMLInputElement).value).toBe('2');
    expect((screen.getByLabelText('Q/K norm') as HTMLInputElement).type).toBe('checkbox');
    const select = screen.getByLabelText('RoPE scaling') as HTMLSelectElement;
    expect(select.value).toBe('none'); // the default, the node does not set it
    expect([...select.options].map(o => o.value)).toEqual(['none', 'llama3']);
    // every input is marked so that React Flow neither drags nor handles keys from it
    for (const input of document.querySelectorAll('input, select')) {
      expect(input.className).toMatch(/\bnodrag\b.*\bnokey\b/);
    }
  });

  it('commits a valid value on Enter and refuses an invalid one with a reason', () => {
    const { onCommit } = show(NODE);
    const heads = screen.getByLabelText('Heads');
    fireEvent.change(heads, { target: { value: '0' } });
    fireEvent.keyDown(heads, { key: 'Enter' });
    expect(onCommit).not.toHaveBeenCalled();
    expect(screen.getByRole('alert').textContent).toBe('must be at least 1');
    fireEvent.change(heads, { target: { value: '8' } });
    fireEvent.blur(heads);
    expect(onCommit).toHaveBeenCalledWith('attn', 'n_heads', 8);
    fireEvent.click(screen.getByLabelText('Q/K norm'));
    expect(onCommit).toHaveBeenLastCalledWith('attn', 'qk_norm', true);
    fireEvent.change(screen.getByLabelText('Key/value heads'), { target: { value: '' } });
    fireEvent.keyDown(screen.getByLabelText('Key/value heads'), { key: 'Enter' });
    expect(onCommit).toHaveBeenLastCalledWith('attn', 'n_kv_heads', null);
  });

  it("shows the analysis's problems under their fields, and the others at the top", () => {
    const analysis = full({
      ok: false,
      errors: [
        { node_id: 'attn', field: 'n_heads', message: 'n_heads (3) must be a multiple of n_kv_heads (2)', message_ko: null },
        { node_id: 'attn', field: null, message: 'the attention block has no input', message_ko: null },
        { node_id: 'other', field: 'n_heads', message: 'not about this block', message_ko: null }
      ]
    });
    const { store } = show(NODE, analysis);
    const heads = document.querySelector('[data-field="n_heads"]')!;
    expect(heads.className).toContain('sdl-field-invalid');
    expect(heads.textContent).toContain('n_heads (3) must be a multiple of n_kv_heads (2)');
    const alerts = screen.getAllByRole('alert').map(a => a.textContent);
    expect(alerts).toEqual(['the attention block has no input', 'n_heads (3) must be a multiple of n_kv_heads (2)']);
    // a fixed design clears them
    act(() => store.setState({ analysis: full() }));
    expect(screen.queryAllByRole('alert')).toEqual([]);
  });

  it("offers the tokenizer's vocabulary size for vocab_size fields once the canvas follows a tokenizer", () => {
    const store = createCanvasStore({
      catalog: catalogWith([block('lmHead')]),
      blocks: indexBlocks(catalogWith([block('lmHead')])),
      tokenizerVocab: 65
    });
    const onCommit = vi.fn();
    const head: GraphNode = { id: 'head', type: 'lmHead', position: { x: 0, y: 0 }, data: { vocab_size: 256 } };
    const view = render(
      <CanvasStoreContext.Provider value={store}>
        <Inspector node={head} onCommit={onCommit} />
      </CanvasStoreContext.Provider>
    );
    fireEvent.click(screen.getByRole('button', { name: 'from tokenizer (65)' }));
    expect(onCommit).toHaveBeenCalledWith('head', 'vocab_size', 65);
    view.rerender(
      <CanvasStoreContext.Provider value={store}>
        <Inspector node={{ ...head, data: { vocab_size: 65 } }} onCommit={onCommit} />
      </CanvasStoreContext.Provider>
    );
    expect(screen.getByText("= the tokenizer's vocabulary (65)")).toBeTruthy();
    expect(screen.queryByRole('button', { name: /from tokenizer/ })).toBeNull();
  });

  it('shows Korean help when the language is Korean', () => {
    show(NODE, null, 'ko');
    expect(screen.getByText('헤드 수').getAttribute('title')).toBe('쿼리 헤드의 수.');
    expect(screen.getByText(/인과적 셀프 어텐션 · attn/)).toBeTruthy();
    const heads = screen.getByLabelText('헤드 수');
    fireEvent.change(heads, { target: { value: '0' } });
    fireEvent.keyDown(heads, { key: 'Enter' });
    expect(screen.getByRole('alert').textContent).toBe('1 이상이어야 합니다');
  });
});
