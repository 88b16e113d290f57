/**
 * Bridge to the SLaM Dunk Lab JupyterLab extension's global hook
 * (`window.__slamdunkLab`, registered when the extension activates).
 */
export const ANCHOR_ATTRIBUTE = 'data-slamdunk-model-id';

export interface InsertCellOptions {
  code: string;
  anchor?: Element | string | null;
  run?: boolean;
}

export interface InsertCellResult {
  path: string;
  index: number;
  anchored: boolean;
}

interface Hook {
  version: number;
  insertCellBelow(options: InsertCellOptions): Promise<InsertCellResult>;
}

export function notebookHook(): Hook | null {
  const hook = (globalThis as { __slamdunkLab?: Hook }).__slamdunkLab;
  return hook && typeof hook.insertCellBelow === 'function' ? hook : null;
}

export async function insertCellBelow(options: InsertCellOptions): Promise<InsertCellResult> {
  const hook = notebookHook();
  if (!hook) {
    throw new Error(
      'Inserting cells needs the SLaM Dunk Lab JupyterLab extension (JupyterLab 4 or Notebook 7); ' +
        'it is installed with the slamdunk-lab package — restart Jupyter after installing.'
    );
  }
  return hook.insertCellBelow(options);
}
