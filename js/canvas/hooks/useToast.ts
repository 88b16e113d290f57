/** A short message over the canvas that dismisses itself (errors red, `info` neutral). */
import { useCallback, useEffect, useState } from 'react';

export interface Toast {
  text: string;
  info: boolean;
}

export interface ToastControl {
  toast: Toast | null;
  /** Show `text` (replacing any toast); null hides it. */
  show(text: string | null, info?: boolean): void;
}

export const TOAST_MS = 8000;

export function useToast(ms = TOAST_MS): ToastControl {
  const [toast, setToast] = useState<Toast | null>(null);
  const show = useCallback((text: string | null, info = false) => setToast(text ? { text, info } : null), []);
  useEffect(() => {
    if (!toast) {
      return;
    }
    const t = setTimeout(() => setToast(null), ms);
    return () => clearTimeout(t);
  }, [toast, ms]);
  return { toast, show };
}
