/**
 * The canvas's messages with Python.
 *
 * - One-shot events from Python: `fit_view`, `toast`, `insert_cell` (code
 *   Python wants below the canvas; the result goes back as
 *   `insert_cell_result`, so `canvas.last_insert` shows it).
 * - `hello` on start: whether this page can insert cells (the extension).
 * - "Export code": one request/response (anywidget's `invoke` of the
 *   kernel's `_export_code` command, with a timeout); the page puts the code
 *   in a new cell below the canvas, or on the clipboard where no extension
 *   can insert cells (VS Code, Colab).
 */
import { RefObject, useCallback, useEffect, useRef } from 'react';

import type { AnyModel, EventMessage, Experimental } from '../../shared/anywidget';
import { CanvasToPython, EXPORT_CODE_COMMAND, ExportCodeResponse } from '../../shared/contract';
import { claimNonce, useModelEvents } from '../../shared/model';
import { insertCellBelow, InsertCellResult, notebookHook } from '../../shared/notebook';

/** Generating code imports torch on first use: allow for a slow kernel. */
export const EXPORT_TIMEOUT_MS = 60_000;
export const EXPORT_COMMAND = EXPORT_CODE_COMMAND;

export type Placed =
  | ({ ok: true } & InsertCellResult)
  | { ok: false; copied: boolean; error: string };

export interface CanvasMessageHandlers {
  fitView(): void;
  toast(text: string | null, info?: boolean): void;
}

/** Copy text to the system clipboard (async API, else a hidden textarea). */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    const ok = document.execCommand('copy');
    ta.remove();
    return ok;
  }
}

const COPIED = 'Copied the code to the clipboard: paste it into a new cell (this front end cannot insert cells).';
const NOT_COPIED = 'Could not insert a cell or copy the code here; use canvas.to_code() in a cell.';

/**
 * Put `code` in a new cell below `anchor` (with the extension), else on the
 * clipboard; tells the user with a toast when it did not become a cell.
 */
export async function placeCode(
  code: string,
  anchor: Element | null,
  run: boolean,
  toast: CanvasMessageHandlers['toast']
): Promise<Placed> {
  if (!notebookHook()) {
    const copied = await copyText(code);
    toast(copied ? COPIED : NOT_COPIED, copied);
    return { ok: false, copied, error: 'no extension' };
  }
  try {
    return { ok: true, ...(await insertCellBelow({ code, anchor, run })) };
  } catch (err: unknown) {
    const message = err instanceof Error ? err.message : String(err);
    toast(message);
    return { ok: false, copied: false, error: message };
  }
}

export interface CanvasMessages {
  /** Ask the kernel for the design's code and put it below the canvas. */
  exportCode(): Promise<void>;
}

export function useCanvasMessages(
  model: AnyModel<object>,
  experimental: Experimental | undefined,
  anchor: RefObject<HTMLElement | null>,
  handlers: CanvasMessageHandlers
): CanvasMessages {
  const latest = useRef(handlers);
  latest.current = handlers;

  // tell Python whether the extension can insert cells here (canvas.export_code() uses it)
  useEffect(() => {
    model.send({ type: 'hello', hook: notebookHook() !== null } satisfies CanvasToPython);
  }, [model]);

  const onEvent = useCallback(
    (msg: EventMessage) => {
      const { fitView, toast } = latest.current;
      if (msg.type === 'fit_view') {
        fitView();
      } else if (msg.type === 'toast' && claimNonce(model, msg.nonce)) {
        toast(String(msg.message ?? ''));
      } else if (msg.type === 'insert_cell' && claimNonce(model, msg.nonce)) {
        // one view of this widget acts on it (the same widget may be shown twice)
        void placeCode(String(msg.code ?? ''), anchor.current, Boolean(msg.run), toast).then(placed =>
          model.send({ type: 'insert_cell_result', nonce: Number(msg.nonce), ...placed } satisfies CanvasToPython)
        );
      }
    },
    [model, anchor]
  );
  useModelEvents(model, onEvent);

  const exportCode = useCallback(async () => {
    const { toast } = latest.current;
    if (!experimental?.invoke) {
      toast('This Jupyter front end cannot ask the kernel for code; use canvas.to_code() in a cell.');
      return;
    }
    let answer: ExportCodeResponse;
    try {
      [answer] = await experimental.invoke<ExportCodeResponse>(EXPORT_COMMAND, {}, {
        signal: AbortSignal.timeout(EXPORT_TIMEOUT_MS)
      });
    } catch (err: unknown) {
      const timedOut = err instanceof DOMException && err.name === 'TimeoutError';
      toast(
        timedOut
          ? `The kernel did not answer within ${EXPORT_TIMEOUT_MS / 1000} s (is it busy or stopped?); try again.`
          : `Cannot export code: ${err instanceof Error ? err.message : String(err)}`
      );
      return;
    }
    if (!answer?.ok || typeof answer.code !== 'string') {
      toast(answer?.error || 'Cannot export code: the kernel sent no code.');
      return;
    }
    await placeCode(answer.code, anchor.current, false, toast);
  }, [experimental, anchor]);

  return { exportCode };
}
