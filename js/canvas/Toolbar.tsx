/** The canvas toolbar: the design's totals, the templates menu and the editing buttons. */
import React, { memo, useMemo } from 'react';

import { formatCount } from '../shared/format';
import { counted, t } from '../shared/i18n';
import { Button } from '../shared/ui';
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
      .map(e => [e.node_id, e.field].filter(Boolean).join(' · ') + (e.node_id || e.field ? ': ' : '') + e.message)
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
  actions
}: {
  templates: TemplateRow[];
  actions: ToolbarActions;
}) {
  const lang = useCanvas(s => s.language);
  return (
    <div className="sdl-toolbar">
      <Totals />
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
