// @vitest-environment happy-dom
import { act, cleanup, render } from '@testing-library/react';
import React, { useLayoutEffect } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { useModelValue } from '../shared/model';
import { fakeModel } from '../shared/testing/fakeModel';
import { PromptDraft, usePromptDraft } from './draft';

afterEach(cleanup);

type State = { prompt: string; title: string };

/** Renders the hook on a fake model; records what every commit put on screen. */
function probe(initial: State) {
  const m = fakeModel<State>(initial);
  const sent: string[] = [];
  const commits: { prompt: string; title: string; text: string; typed: boolean }[] = [];
  const api: { current: PromptDraft | null } = { current: null };
  const send = (text: string) => {
    sent.push(text);
    m.set('prompt', text);
  };
  function Probe() {
    const prompt = useModelValue<State, 'prompt'>(m, 'prompt');
    const title = useModelValue<State, 'title'>(m, 'title');
    const draft = usePromptDraft(prompt, send, 300);
    api.current = draft;
    useLayoutEffect(() => {
      commits.push({ prompt, title, text: draft.text, typed: draft.typed });
    });
    return null;
  }
  return { m, sent, commits, api, mount: () => render(<Probe />) };
}

describe('the prompt box', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('shows a prompt Python sets in the same commit as every other value, even one set before it subscribed', () => {
    const p = probe({ prompt: 'first', title: 'old' });
    p.m.beforeFirstSubscribe('change:prompt', () => {
      p.m.set('prompt', 'abc');
      p.m.set('title', 'gap title');
    });
    p.mount();
    act(() => p.m.pySet('prompt', 'later'));
    act(() => vi.advanceTimersByTime(1000));
    // no commit ever shows the new title beside the old prompt, and nothing untyped is sent back
    expect(p.commits.filter(c => c.text !== c.prompt)).toEqual([]);
    expect(p.commits.at(-1)).toEqual({ prompt: 'later', title: 'gap title', text: 'later', typed: false });
    expect(p.sent).toEqual([]);
  });

  it('keeps what the student types, sends it after a pause, and gives way to a prompt Python sets meanwhile', () => {
    const p = probe({ prompt: 'To be', title: 't' });
    p.mount();
    act(() => p.api.current!.type('To be, or'));
    expect(p.api.current!.text).toBe('To be, or');
    act(() => vi.advanceTimersByTime(299));
    expect(p.sent).toEqual([]);
    act(() => vi.advanceTimersByTime(1));
    expect(p.sent).toEqual(['To be, or']);
    expect(p.api.current).toMatchObject({ text: 'To be, or', typed: false });
    // a prompt from Python replaces a draft typed over the old one, and the draft is never sent
    act(() => p.api.current!.type('To be, or not'));
    act(() => p.m.pySet('prompt', 'Once upon'));
    act(() => vi.advanceTimersByTime(1000));
    expect(p.api.current).toMatchObject({ text: 'Once upon', typed: false });
    expect(p.sent).toEqual(['To be, or']);
    // commit (blur, Generate) sends typing at once and nothing otherwise
    act(() => p.api.current!.commit());
    expect(p.sent).toEqual(['To be, or']);
    act(() => p.api.current!.type('Once upon a time'));
    act(() => p.api.current!.commit());
    expect(p.sent).toEqual(['To be, or', 'Once upon a time']);
    act(() => vi.advanceTimersByTime(1000));
    expect(p.sent).toHaveLength(2);
  });
});
