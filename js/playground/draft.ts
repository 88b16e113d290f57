/**
 * The prompt box's text: what Python last set, or what the student is typing on top of it.
 *
 * The draft is derived in render, never copied from the model in an effect: a draft belongs to the prompt it was
 * typed over (`base`), and once Python's prompt is another one the box shows that prompt in the same render as
 * every other value. (Copying it in an effect left one frame, or more on a busy page, with the new title and
 * output next to the old prompt: the #16 browser check caught the box still holding the first prompt.) Only text
 * the student typed is ever sent back, so a prompt Python sets, even before the view subscribed, is never
 * overwritten by the text the box started with.
 */
import { useCallback, useEffect, useState } from 'react';

export interface PromptDraft {
  /** what the box shows */
  text: string;
  /** true while it holds typing that Python has not got yet */
  typed: boolean;
  /** the student typed `text` */
  type(text: string): void;
  /** send typed text to Python now (on blur, before generating); a no-op for untyped text */
  commit(): void;
}

interface Draft {
  text: string;
  base: string;
}

export function usePromptDraft(prompt: string, send: (text: string) => void, debounceMs: number): PromptDraft {
  const [draft, setDraft] = useState<Draft | null>(null);
  const typed = draft !== null && draft.base === prompt;
  const text = typed ? draft.text : prompt;
  const commit = useCallback(() => {
    if (typed && text !== prompt) {
      send(text);
    }
    setDraft(null);
  }, [typed, text, prompt, send]);
  const type = useCallback((value: string) => setDraft({ text: value, base: prompt }), [prompt]);
  // send after a pause in typing, so the look-inside panels follow it
  useEffect(() => {
    if (!typed || text === prompt) {
      return;
    }
    const t = setTimeout(commit, debounceMs);
    return () => clearTimeout(t);
  }, [typed, text, prompt, commit, debounceMs]);
  return { text, typed, type, commit };
}
