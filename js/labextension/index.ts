/**
 * SLaM Dunk Lab — JupyterLab / Notebook 7 front-end extension.
 *
 * - command `slamdunk-lab:insert-cell-below` ({code, anchor?, run?}): inserts a
 *   code cell directly below the cell whose output holds the widget identified
 *   by `anchor` (a widget model id, see ANCHOR_ATTRIBUTE) — falling back to
 *   the active cell — fills it with `code`, and optionally runs it;
 * - command `slamdunk-lab:new-notebook` + a launcher card "SLaM Dunk Lab"
 *   (category Notebook) that creates a starter notebook;
 * - a small global hook `window.__slamdunkLab` so widgets (anywidget ESM, which
 *   cannot import JupyterLab tokens) can call into the application without
 *   `expose_app_in_browser`.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import {
  INotebookTracker,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';

import { findCellIndex, resolveAnchor } from './cells';
import { starterNotebook } from './starter';

export const PLUGIN_ID = 'slamdunk-lab:plugin';

export namespace CommandIDs {
  export const insertCellBelow = 'slamdunk-lab:insert-cell-below';
  export const newNotebook = 'slamdunk-lab:new-notebook';
}

/** Arguments of `insertCellBelow` (the command takes the JSON-able subset). */
export interface IInsertCellOptions {
  /** Source of the new code cell. */
  code: string;
  /** Widget root element, or the widget model id (string) to anchor on. */
  anchor?: Element | string | null;
  /** Run the new cell after inserting it (default false). */
  run?: boolean;
}

export interface IInsertCellResult {
  /** Notebook path. */
  path: string;
  /** Index of the new cell. */
  index: number;
  /** Whether the anchor was found (false: inserted below the active cell). */
  anchored: boolean;
}

/** The global hook widgets use; `window.__slamdunkLab`. */
export interface ISlamDunkLabHook {
  version: 1;
  insertCellBelow(options: IInsertCellOptions): Promise<IInsertCellResult>;
  newNotebook(cwd?: string): Promise<unknown>;
}

declare global {
  interface Window {
    __slamdunkLab?: ISlamDunkLabHook;
  }
}

const LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">
<circle class="jp-icon-warn0" fill="#E8712B" cx="12" cy="12" r="10"/>
<path fill="none" stroke="#3B2416" stroke-width="1.2" d="M2 12h20M12 2v20M5 4.8c3.2 3.6 3.2 10.8 0 14.4M19 4.8c-3.2 3.6-3.2 10.8 0 14.4"/>
</svg>`;

export const slamdunkIcon = new LabIcon({
  name: 'slamdunk-lab:logo',
  svgstr: LOGO_SVG
});

function findHostPanel(
  tracker: INotebookTracker,
  el: Element | null
): { panel: NotebookPanel; index: number } | null {
  if (!el) {
    return null;
  }
  let found: { panel: NotebookPanel; index: number } | null = null;
  tracker.forEach(panel => {
    if (found || !panel.node.contains(el)) {
      return;
    }
    const index = findCellIndex(panel.content.widgets, el);
    if (index >= 0) {
      found = { panel, index };
    }
  });
  return found;
}

async function insertCellBelow(
  tracker: INotebookTracker | null,
  options: IInsertCellOptions
): Promise<IInsertCellResult> {
  if (!tracker) {
    throw new Error('SLaM Dunk Lab: no notebook tracker in this application.');
  }
  if (typeof options.code !== 'string') {
    throw new Error('SLaM Dunk Lab: insertCellBelow needs a string `code`.');
  }
  const el = resolveAnchor(options.anchor ?? null);
  let host = findHostPanel(tracker, el);
  const anchored = host !== null;
  if (!host) {
    const panel = tracker.currentWidget;
    if (!panel) {
      throw new Error('SLaM Dunk Lab: no notebook to insert a cell into.');
    }
    host = { panel, index: panel.content.activeCellIndex };
  }
  const { panel, index } = host;
  const notebook = panel.content;
  const model = notebook.model;
  if (!model) {
    throw new Error('SLaM Dunk Lab: the notebook has no model yet.');
  }
  const newIndex = index + 1;
  model.sharedModel.insertCell(newIndex, {
    cell_type: 'code',
    source: options.code,
    metadata: {}
  });
  notebook.deselectAll();
  notebook.activeCellIndex = newIndex;
  const cell = notebook.widgets[newIndex];
  if (cell) {
    void notebook.scrollToCell(cell);
  }
  if (options.run) {
    await NotebookActions.run(notebook, panel.sessionContext);
  }
  return { path: panel.context.path, index: newIndex, anchored };
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'SLaM Dunk Lab: launcher card and notebook helpers for the widgets.',
  autoStart: true,
  optional: [INotebookTracker, ILauncher, ICommandPalette, IDefaultFileBrowser],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker | null,
    launcher: ILauncher | null,
    palette: ICommandPalette | null,
    browser: IDefaultFileBrowser | null
  ) => {
    const { commands, serviceManager } = app;

    commands.addCommand(CommandIDs.insertCellBelow, {
      label: 'SLaM Dunk Lab: Insert Code Cell Below Widget',
      describedBy: {
        args: {
          type: 'object',
          properties: {
            code: { type: 'string', description: 'Source of the new cell' },
            anchor: {
              type: 'string',
              description: 'Model id of the widget whose cell to insert below'
            },
            run: { type: 'boolean', description: 'Run the new cell' }
          },
          required: ['code']
        }
      },
      execute: args =>
        insertCellBelow(tracker, {
          code: String(args.code ?? ''),
          anchor: typeof args.anchor === 'string' ? args.anchor : null,
          run: Boolean(args.run)
        }) as unknown as Promise<void>
    });

    const newNotebook = async (cwd?: string): Promise<unknown> => {
      const path = cwd ?? browser?.model.path ?? '';
      const created = await serviceManager.contents.newUntitled({
        path,
        type: 'notebook'
      });
      await serviceManager.contents.save(created.path, {
        type: 'notebook',
        format: 'json',
        content: starterNotebook()
      });
      return commands.execute('docmanager:open', {
        path: created.path,
        factory: 'Notebook',
        kernel: { name: 'python3' }
      });
    };

    commands.addCommand(CommandIDs.newNotebook, {
      label: args => (args.isLauncher ? 'SLaM Dunk Lab' : 'New SLaM Dunk Lab Notebook'),
      caption: 'Create a notebook to design, train and run a small language model',
      icon: args => (args.isPalette ? undefined : slamdunkIcon),
      execute: args =>
        newNotebook(typeof args.cwd === 'string' ? args.cwd : undefined)
    });

    if (launcher) {
      // "Notebook" is a kernel category: its cards show `kernelIconUrl`
      launcher.add({
        command: CommandIDs.newNotebook,
        category: 'Notebook',
        rank: 100,
        args: { isLauncher: true },
        kernelIconUrl: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(LOGO_SVG)}`
      });
    }
    if (palette) {
      palette.addItem({
        command: CommandIDs.newNotebook,
        category: 'SLaM Dunk Lab',
        args: { isPalette: true }
      });
    }

    window.__slamdunkLab = {
      version: 1,
      insertCellBelow: options => insertCellBelow(tracker, options),
      newNotebook
    };
    window.dispatchEvent(new CustomEvent('slamdunk-lab:ready'));
  }
};

export default plugin;
