/**
 * Keyboard shortcuts of the canvas: undo, redo, copy, paste (Ctrl or Cmd).
 * Listens on the widget's root element, so only keys typed in this widget
 * count; keys typed in a form field are left to the field.
 */
import { RefObject, useEffect, useRef } from 'react';

export type ShortcutAction = 'undo' | 'redo' | 'copy' | 'paste';
export type ShortcutHandlers = Record<ShortcutAction, () => void>;

const EDITABLE = /^(INPUT|TEXTAREA|SELECT)$/;

/** The action of a key event, or null when it is not one of ours. */
export function shortcutOf(ev: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'shiftKey'>): ShortcutAction | null {
  if (!(ev.ctrlKey || ev.metaKey) || ev.altKey) {
    return null;
  }
  switch (ev.key.toLowerCase()) {
    case 'z':
      return ev.shiftKey ? 'redo' : 'undo';
    case 'y':
      return 'redo';
    case 'c':
      return 'copy';
    case 'v':
      return 'paste';
    default:
      return null;
  }
}

/** Attach the shortcuts to the `.sdl-root` around `inside` (the whole widget). */
export function useShortcuts(inside: RefObject<HTMLElement | null>, handlers: ShortcutHandlers): void {
  const latest = useRef(handlers);
  latest.current = handlers;
  useEffect(() => {
    const root = (inside.current?.closest('.sdl-root') as HTMLElement | null) ?? inside.current;
    if (!root) {
      return;
    }
    const onKey = (ev: KeyboardEvent) => {
      const t = ev.target as HTMLElement | null;
      if (t && (EDITABLE.test(t.tagName) || t.isContentEditable)) {
        return;
      }
      const act = shortcutOf(ev);
      if (!act) {
        return;
      }
      ev.preventDefault();
      ev.stopPropagation();
      latest.current[act]();
    };
    root.addEventListener('keydown', onKey);
    return () => root.removeEventListener('keydown', onKey);
  }, [inside]);
}
