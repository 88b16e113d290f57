/**
 * Save / Save as / Open: requests to the kernel's design-file commands
 * (anywidget's `invoke`, with a timeout). Python does the file work (atomic
 * writes, the binding, locked exercises); the page shows the answer.
 */
import { useCallback, useRef } from 'react';

import type { Experimental } from '../../shared/anywidget';
import { DESIGN_COMMANDS, DesignFileResponse } from '../../shared/contract';
import { Lang, t } from '../../shared/i18n';

export const FILE_TIMEOUT_MS = 30_000;

export interface DesignFiles {
  /** Save to the bound file, or to `path` (Save as; `overwrite` replaces another file). */
  save(path?: string, overwrite?: boolean): Promise<DesignFileResponse>;
  /** The design files Open offers. */
  list(): Promise<DesignFileResponse>;
  open(path: string): Promise<DesignFileResponse>;
}

function failed(error: string): DesignFileResponse {
  return { ok: false, error, file: null, exists: null, files: null };
}

export function useDesignFiles(experimental: Experimental | undefined, lang: Lang): DesignFiles {
  const langRef = useRef(lang);
  langRef.current = lang;
  const ask = useCallback(
    async (command: string, msg: Record<string, unknown>): Promise<DesignFileResponse> => {
      if (!experimental?.invoke) {
        return failed(t(langRef.current, 'noKernelCommands'));
      }
      try {
        const [answer] = await experimental.invoke<DesignFileResponse>(command, msg, {
          signal: AbortSignal.timeout(FILE_TIMEOUT_MS)
        });
        return answer ?? failed(t(langRef.current, 'kernelBusy'));
      } catch (err: unknown) {
        const timedOut = err instanceof DOMException && err.name === 'TimeoutError';
        return failed(timedOut ? t(langRef.current, 'kernelBusy') : String(err instanceof Error ? err.message : err));
      }
    },
    [experimental]
  );
  const save = useCallback(
    (path?: string, overwrite = false) =>
      ask(DESIGN_COMMANDS.save, path === undefined ? {} : { path, overwrite }),
    [ask]
  );
  const list = useCallback(() => ask(DESIGN_COMMANDS.list, {}), [ask]);
  const open = useCallback((path: string) => ask(DESIGN_COMMANDS.open, { path }), [ask]);
  return { save, list, open };
}
