/** The canvas toolbar: the design's totals, the templates menu and the editing buttons. */
import React, { memo, useMemo, useState } from 'react';

import type { DesignFileResponse } from '../shared/contract';
import { formatCount } from '../shared/format';
import { counted, t } from '../shared/i18n';
import { Button } from '../shared/ui';
import type { DesignFiles } from './hooks/useDesignFiles';
import { issueText } from './selectors';
import { useCanvas } from './store';
import { TemplateRow, templateFamilies } from './types';

/** Families × sizes from `sd.templates()`; choosing one replaces the design (undoable). */
export const TemplatesMenu = memo(function TemplatesMenu({
  templates,
  onChoose
}: {
  templates: TemplateRow[];
  onChoose: (name: string, size: string) => void;
}) {
  const families = useMemo(() => templateFamilies(templates), [templates]);
  const lang = useCanvas(s => s.language);
  if (families.length === 0) {
    return null;
  }
  return (
    <select
      className="nodrag nokey sdl-input sdl-templates"
      aria-label="Start from a template"
      title={t(lang, 'templatesTitle')}
      value=""
      data-action="templates"
      onChange={e => {
        const [name, size] = e.target.value.split('\u0000');
        if (name && size) {
          onChoose(name, size);
        }
      }}
    >
      <option value="">{t(lang, 'templates')}</option>
      {families.map(f => (
        <optgroup key={f.name} label={f.family}>
          {f.rows.map(r => (
            <option key={r.size} value={`${r.name}\u0000${r.size}`} title={r.description}>
              {f.family} {r.size}
              {r.params ? ` · ${formatCount(r.params)}` : ''}
            </option>
          ))}
        </optgroup>
      ))}
    </select>
  );
});

/** Parameter total and validity of the current design (from the live analysis). */
export const Totals = memo(function Totals() {
  const params = useCanvas(s => s.analysis?.params);
  const ok = useCanvas(s => s.analysis?.ok);
  const problems = useCanvas(s => s.analysis?.errors.length ?? 0);
  const layers = useCanvas(s => s.analysis?.n_layers);
  const known = useCanvas(s => s.analysis !== null);
  const lang = useCanvas(s => s.language);
  // every problem in full, one per line, on hover
  const details = useCanvas(s =>
    (s.analysis?.errors ?? [])
      .map(e => [e.node_id, e.field].filter(Boolean).join(' · ') + (e.node_id || e.field ? ': ' : '') + issueText(e, lang))
      .join('\n')
  );
  if (!known) {
    return null;
  }
  return (
    <div className="sdl-totals" data-ok={String(Boolean(ok))}>
      <span className="sdl-totals-params">
        <b>{formatCount(params)}</b> {t(lang, 'params')}
      </span>
      {layers ? <span>{t(lang, 'layers', { n: layers })}</span> : null}
      <span className={ok ? 'sdl-ok-text' : 'sdl-error-text'} title={details || undefined} data-problems={problems}>
        {ok ? t(lang, 'buildable') : counted(lang, problems, 'problem', 'problems')}
      </span>
    </div>
  );
});

export interface ToolbarActions {
  canUndo: boolean;
  canRedo: boolean;
  undo(): void;
  redo(): void;
  layout(): void;
  fit(): void;
  exportCode(): void;
  chooseTemplate(name: string, size: string): void;
}

/** The row above the blocks: totals, templates, undo/redo, layout, fit, export. */
export const CanvasToolbar = memo(function CanvasToolbar({
  templates,
  actions,
  children
}: {
  templates: TemplateRow[];
  actions: ToolbarActions;
  /** The design file's controls (FileBar). */
  children?: React.ReactNode;
}) {
  const lang = useCanvas(s => s.language);
  return (
    <div className="sdl-toolbar">
      <Totals />
      {children}
      <TemplatesMenu templates={templates} onChoose={actions.chooseTemplate} />
      <Button onClick={actions.undo} disabled={!actions.canUndo} title={t(lang, 'undo')} data-action="undo">
        ↶
      </Button>
      <Button
        onClick={actions.redo}
        disabled={!actions.canRedo}
        title={t(lang, 'redo')}
        data-action="redo"
      >
        ↷
      </Button>
      <Button onClick={actions.layout} title={t(lang, 'layoutTitle')} data-action="layout">
        {t(lang, 'layout')}
      </Button>
      <Button onClick={actions.fit} title={t(lang, 'fitTitle')} data-action="fit">
        {t(lang, 'fit')}
      </Button>
      <Button
        variant="primary"
        onClick={actions.exportCode}
        title={t(lang, 'exportTitle')}
        data-action="export-code"
      >
        {t(lang, 'exportCode')}
      </Button>
    </div>
  );
});

type Dialog = { mode: 'save'; path: string; exists: string | null } | { mode: 'open'; files: string[] | null; path: string };

/**
 * The design file: its name (every change is saved there), Save, Save as… and
 * Open…. Python answers each request; a refused one says why in a toast.
 */
export const FileBar = memo(function FileBar({
  file,
  name,
  files,
  toast
}: {
  file: string;
  name: string;
  files: DesignFiles;
  toast: (text: string | null, info?: boolean) => void;
}) {
  const lang = useCanvas(s => s.language);
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (request: Promise<DesignFileResponse>, done: (a: DesignFileResponse) => void) => {
    setBusy(true);
    try {
      done(await request);
    } finally {
      setBusy(false);
    }
  };
  const saveAs = (path: string, overwrite: boolean) =>
    run(files.save(path, overwrite), a => {
      if (a.ok) {
        setDialog(null);
        toast(t(lang, 'savedTo', { file: a.file ?? path }), true);
      } else if (a.exists) {
        setDialog({ mode: 'save', path, exists: a.error ?? path });
      } else {
        toast(a.error ?? 'Cannot save');
      }
    });
  const save = () => {
    if (!file) {
      setDialog({ mode: 'save', path: `designs/${name || 'design'}.json`, exists: null });
      return;
    }
    void run(files.save(), a => toast(a.ok ? t(lang, 'savedTo', { file: a.file ?? file }) : a.error ?? 'Cannot save', a.ok));
  };
  const openDialog = () => {
    setDialog({ mode: 'open', files: null, path: '' });
    void run(files.list(), a => {
      if (!a.ok) {
        toast(a.error ?? 'Cannot list design files');
        setDialog(null);
        return;
      }
      const list = a.files ?? [];
      setDialog({ mode: 'open', files: list, path: list.includes(file) ? file : list[0] ?? '' });
    });
  };
  const open = (path: string) =>
    run(files.open(path), a => {
      if (a.ok) {
        setDialog(null);
        toast(t(lang, 'opened', { file: a.file ?? path }), true);
      } else {
        toast(a.error ?? 'Cannot open');
      }
    });

  return (
    <div className="sdl-filebar nodrag nokey" data-file={file}>
      <span className="sdl-file-name" title={t(lang, file ? 'fileTitle' : 'noFileTitle')}>
        {file || t(lang, 'noFile')}
      </span>
      <Button onClick={save} disabled={busy} title={t(lang, 'saveTitle')} data-action="save">
        {t(lang, 'save')}
      </Button>
      <Button
        onClick={() => setDialog({ mode: 'save', path: file || `designs/${name || 'design'}.json`, exists: null })}
        disabled={busy}
        title={t(lang, 'saveAsTitle')}
        data-action="save-as"
      >
        {t(lang, 'saveAs')}
      </Button>
      <Button onClick={openDialog} disabled={busy} title={t(lang, 'openTitle')} data-action="open">
        {t(lang, 'open')}
      </Button>
      {dialog && (
        <form
          className="sdl-file-dialog"
          data-mode={dialog.mode}
          onSubmit={e => {
            e.preventDefault();
            if (dialog.mode === 'save' && dialog.path.trim()) {
              void saveAs(dialog.path.trim(), dialog.exists !== null);
            } else if (dialog.mode === 'open' && dialog.path) {
              void open(dialog.path);
            }
          }}
          onKeyDown={e => {
            if (e.key === 'Escape') {
              setDialog(null);
            }
          }}
        >
          {dialog.mode === 'save' ? (
            <label>
              {t(lang, 'fileName')}
              <input
                className="sdl-input"
                autoFocus
                value={dialog.path}
                data-field="file-name"
                onChange={e => setDialog({ mode: 'save', path: e.target.value, exists: null })}
              />
            </label>
          ) : dialog.files === null ? (
            <span className="sdl-muted">…</span>
          ) : dialog.files.length === 0 ? (
            <span className="sdl-muted">{t(lang, 'noDesigns')}</span>
          ) : (
            <label>
              {t(lang, 'chooseDesign')}
              <select
                className="sdl-input"
                value={dialog.path}
                data-field="design-file"
                onChange={e => setDialog({ ...dialog, path: e.target.value })}
              >
                {dialog.files.map(f => (
                  <option key={f} value={f}>
                    {f}
                  </option>
                ))}
              </select>
            </label>
          )}
          {dialog.mode === 'save' && dialog.exists && (
            <span className="sdl-error-text" role="alert">
              {dialog.exists}
            </span>
          )}
          <span className="sdl-file-actions">
            <Button type="submit" variant="primary" disabled={busy} data-action="file-ok">
              {dialog.mode === 'open' ? t(lang, 'open') : dialog.exists ? t(lang, 'replace') : t(lang, 'save')}
            </Button>
            <Button onClick={() => setDialog(null)} data-action="file-cancel">
              {t(lang, 'cancel')}
            </Button>
          </span>
        </form>
      )}
    </div>
  );
});
