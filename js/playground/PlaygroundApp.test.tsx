// @vitest-environment happy-dom
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import React from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { fakeModel } from '../shared/testing/fakeModel';
import { PlaygroundApp, PlaygroundModel } from './PlaygroundApp';

afterEach(cleanup);

function playground(over: Partial<PlaygroundModel> = {}) {
  return fakeModel<PlaygroundModel>({
    _view: 'playground', _anchor: 'p1', language: 'en', title: 'Playground', prompt: 'To be', output: '', running: false, error: '',
    can_inspect: false, probs: [], probs_prompt: '', attention: {}, inspect_error: '',
    settings: { max_new_tokens: 50, temperature: 0.8, top_k: null, top_p: 0.95, repetition_penalty: 1, seed: null },
    ...over
  });
}

describe('Playground controls', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('Generate sends the prompt as typed; Stop is for a running generation only', () => {
    const m = playground();
    render(<PlaygroundApp model={m} />);
    const prompt = screen.getByPlaceholderText('Type a prompt…');
    fireEvent.change(prompt, { target: { value: 'To be, or not' } });
    fireEvent.click(screen.getByRole('button', { name: 'Generate' }));
    expect(m.sent).toEqual([{ type: 'generate', prompt: 'To be, or not' }]);
    expect(m.get('prompt')).toBe('To be, or not');
    expect((screen.getByRole('button', { name: 'Stop' }) as HTMLButtonElement).disabled).toBe(true);
    act(() => m.pySet('running', true));
    expect((screen.getByRole('button', { name: 'Generate' }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Stop' }));
    expect(m.sent.at(-1)).toEqual({ type: 'stop' });
  });

  it('Ctrl+Enter generates (not while running); plain Enter types a newline', () => {
    const m = playground();
    render(<PlaygroundApp model={m} />);
    const prompt = screen.getByPlaceholderText('Type a prompt…');
    fireEvent.keyDown(prompt, { key: 'Enter' });
    expect(m.sent).toEqual([]);
    fireEvent.keyDown(prompt, { key: 'Enter', ctrlKey: true });
    expect(m.sent).toEqual([{ type: 'generate', prompt: 'To be' }]);
    act(() => m.pySet('running', true));
    fireEvent.keyDown(prompt, { key: 'Enter', shiftKey: true });
    expect(m.sent).toHaveLength(1);
  });

  it('the prompt reaches Python after a pause in typing (for the look-inside panels)', () => {
    const m = playground();
    render(<PlaygroundApp model={m} />);
    const prompt = screen.getByPlaceholderText('Type a prompt…');
    fireEvent.change(prompt, { target: { value: 'To be, or' } });
    act(() => vi.advanceTimersByTime(100));
    fireEvent.change(prompt, { target: { value: 'To be, or not' } });
    act(() => vi.advanceTimersByTime(299));
    expect(m.get('prompt')).toBe('To be');
    act(() => vi.advanceTimersByTime(1));
    expect(m.get('prompt')).toBe('To be, or not');
    expect(m.saves).toBe(1);
  });

  it('a prompt Python sets before the view subscribes is shown, and never overwritten by the first one', () => {
    const m = playground();
    m.beforeFirstSubscribe('change:prompt', () => m.set('prompt', 'abc'));
    render(<PlaygroundApp model={m} />);
    act(() => vi.advanceTimersByTime(1000));
    expect(m.get('prompt')).toBe('abc');
    expect((screen.getByPlaceholderText('Type a prompt…') as HTMLTextAreaElement).value).toBe('abc');
    expect(m.saves).toBe(0);
  });

  it("sampling settings are checked with Python's bounds and saved one field at a time", () => {
    const m = playground();
    render(<PlaygroundApp model={m} />);
    const temperature = screen.getByLabelText('Temperature');
    expect((temperature as HTMLInputElement).value).toBe('0.8');
    fireEvent.change(temperature, { target: { value: '-1' } });
    fireEvent.keyDown(temperature, { key: 'Enter' });
    expect(screen.getByRole('alert').textContent).toBe('must be at least 0');
    // top-p must be above 0, as sd.generate requires
    const topP = screen.getByLabelText('Top-p');
    fireEvent.change(topP, { target: { value: '0' } });
    fireEvent.keyDown(topP, { key: 'Enter' });
    expect(screen.getAllByRole('alert').map(a => a.textContent)).toContain('must be above 0');
    expect(m.saves).toBe(0);
    fireEvent.change(temperature, { target: { value: '0' } });
    fireEvent.blur(temperature);
    const topK = screen.getByLabelText('Top-k');
    fireEvent.change(topK, { target: { value: '40' } });
    fireEvent.keyDown(topK, { key: 'Enter' });
    expect(m.get('settings')).toEqual({
      max_new_tokens: 50, temperature: 0, top_k: 40, top_p: 0.95, repetition_penalty: 1, seed: null
    });
    expect(m.saves).toBe(2);
  });

  it('speaks Korean when its language is Korean', () => {
    const m = playground({ language: 'ko' });
    render(<PlaygroundApp model={m} />);
    expect(screen.getByRole('button', { name: '생성' })).toBeTruthy();
    expect(screen.getByPlaceholderText('프롬프트를 입력하세요…')).toBeTruthy();
    expect(document.querySelector('.sdl-playground')?.getAttribute('lang')).toBe('ko');
  });

  it('shows the streamed text after the prompt, and errors', () => {
    const m = playground();
    render(<PlaygroundApp model={m} />);
    act(() => m.pySet('output', ', or not to be'));
    expect(document.querySelector('.sdl-output')?.textContent).toBe('To be, or not to be');
    act(() => m.pySet('error', 'the prompt is longer than the context'));
    expect(screen.getByRole('alert').textContent).toBe('the prompt is longer than the context');
  });
});
