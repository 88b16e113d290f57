/** Palette: the block catalogue by category; click or drag a block onto the canvas. */
import React, { memo, useMemo } from 'react';

import { t } from '../shared/i18n';
import { Panel } from '../shared/ui';
import { useCanvas, useCanvasStore } from './store';
import { blockTitle, categoryTitle, groupByCategory } from './types';

export const DRAG_MIME = 'application/x-slamdunk-block';

export const Palette = memo(function Palette({ onAdd }: { onAdd: (type: string) => void }) {
  const catalog = useCanvas(s => s.catalog);
  const store = useCanvasStore();
  const groups = useMemo(() => groupByCategory(catalog), [catalog]);
  const lang = useCanvas(s => s.language);
  return (
    <Panel title={t(lang, 'blocks')} className="sdl-palette">
      {groups.length === 0 && <p className="sdl-muted">{t(lang, 'catalogueMissing')}</p>}
      {groups.map(g => (
        <div key={g.category} className="sdl-palette-group">
          <div className="sdl-palette-category">{categoryTitle(catalog, g.category, lang)}</div>
          {g.blocks.map(b => (
            <button
              key={b.type}
              type="button"
              className="sdl-palette-item"
              data-block-type={b.type}
              draggable
              title={b.docs[lang]?.summary ?? b.docs.en?.summary ?? b.title}
              onDragStart={e => {
                e.dataTransfer.setData(DRAG_MIME, b.type);
                e.dataTransfer.effectAllowed = 'move';
              }}
              onMouseEnter={() => store.setState({ docsType: b.type })}
              onMouseLeave={() => store.setState({ docsType: null })}
              onClick={() => onAdd(b.type)}
            >
              {blockTitle(b, lang)}
            </button>
          ))}
        </div>
      ))}
    </Panel>
  );
});
