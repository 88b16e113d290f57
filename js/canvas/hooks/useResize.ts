/**
 * The canvas's height, changed by dragging its bottom edge: the page follows
 * the pointer, and the new height is saved (to the `height` traitlet) once,
 * when the drag ends.
 */
import React, { useCallback, useEffect, useState } from 'react';

export interface Resize {
  height: number;
  onResizeStart(e: React.PointerEvent): void;
}

export function useResize(saved: number, min: number, save: (height: number) => void): Resize {
  const [dragged, setDragged] = useState<number | null>(null);
  useEffect(() => setDragged(null), [saved]);

  const onResizeStart = useCallback(
    (e: React.PointerEvent) => {
      e.preventDefault();
      const startY = e.clientY;
      const from = saved;
      let last = from;
      const move = (ev: PointerEvent) => {
        last = Math.max(min, Math.round(from + ev.clientY - startY));
        setDragged(last);
      };
      const up = () => {
        window.removeEventListener('pointermove', move);
        window.removeEventListener('pointerup', up);
        if (last !== from) {
          save(last);
        }
      };
      window.addEventListener('pointermove', move);
      window.addEventListener('pointerup', up);
    },
    [saved, min, save]
  );
  return { height: dragged ?? saved, onResizeStart };
}
