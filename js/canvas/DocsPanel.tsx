/** Docs of the hovered palette block, else of the selected node's block (en/ko). */
import React, { memo } from 'react';

import { t } from '../shared/i18n';
import { Panel } from '../shared/ui';
import { useCanvas } from './store';
import { blockTitle, type Language } from './types';


export const DocsPanel = memo(function DocsPanel({
  onLanguage
}: {
  onLanguage: (lang: Language) => void;
}) {
  const language = useCanvas(s => s.language);
  const type = useCanvas(s => s.docsType ?? null);
  const selectedType = useCanvas(s => s.selectedType);
  const block = useCanvas(s => s.blocks[(type ?? selectedType) as string]);
  const docs = block?.docs?.[language] ?? block?.docs?.en;
  const L = {
    docs: t(language, 'docs'),
    formula: t(language, 'formula'),
    shapes: t(language, 'shapes'),
    none: t(language, 'hoverBlock')
  };
  return (
    <Panel
      title={L.docs}
      className="sdl-docs"
      actions={
        <span className="sdl-lang" role="group" aria-label="language">
          {(['en', 'ko'] as Language[]).map(l => (
            <button
              key={l}
              type="button"
              className={`sdl-lang-button${l === language ? ' sdl-active' : ''}`}
              aria-pressed={l === language}
              onClick={() => onLanguage(l)}
            >
              {l === 'en' ? 'EN' : '한'}
            </button>
          ))}
        </span>
      }
    >
      {!block || !docs ? (
        <p className="sdl-muted">{L.none}</p>
      ) : (
        <div className="sdl-docs-body">
          <div className="sdl-docs-title">{blockTitle(block, language)}</div>
          {docs.summary && <p>{docs.summary}</p>}
          {docs.formula && (
            <>
              <div className="sdl-docs-label">{L.formula}</div>
              <pre className="sdl-docs-formula">{docs.formula}</pre>
            </>
          )}
          {docs.shapes && (
            <>
              <div className="sdl-docs-label">{L.shapes}</div>
              <pre className="sdl-docs-formula">{docs.shapes}</pre>
            </>
          )}
        </div>
      )}
    </Panel>
  );
});
