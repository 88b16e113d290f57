/** Status bar: totals of the live analysis, graph-level problems and widget notices. */
import React, { memo } from 'react';

import { formatBytes, formatCount } from '../shared/format';
import { counted, t, TextKey } from '../shared/i18n';
import { issueText, useGraphIssues } from './selectors';
import { useCanvas } from './store';

function memoryLabel(lang: 'en' | 'ko', key: string): string {
  const known = `memory_${key}` as TextKey;
  return known in { memory_weights: 1, memory_gradients: 1, memory_optimizer: 1 } ? t(lang, known) : key.replace(/_/g, ' ');
}

export const AnalysisBar = memo(function AnalysisBar({ notices }: { notices: string[] }) {
  const analysis = useCanvas(s => s.analysis);
  const lang = useCanvas(s => s.language);
  const errors = analysis?.errors ?? [];
  const graphLevel = useGraphIssues();
  const memory = Object.entries(analysis?.memory ?? {});
  return (
    <footer className="sdl-statusbar" data-ok={analysis ? String(analysis.ok) : 'unknown'}>
      {analysis && (
        <>
          <span className={`sdl-status-dot ${analysis.ok ? 'sdl-ok' : 'sdl-bad'}`} />
          <span className="sdl-stat" data-stat="params">
            <b>{formatCount(analysis.params)}</b> {t(lang, 'params')}
          </span>
          <span className="sdl-stat" data-stat="flops">
            <b>{formatCount(analysis.flops_per_token)}</b> {t(lang, 'flopsPerToken')}
          </span>
          {memory.slice(0, 3).map(([k, v]) => (
            <span key={k} className="sdl-stat" data-stat={`memory-${k}`}>
              {memoryLabel(lang, k)} <b>{formatBytes(v)}</b>
            </span>
          ))}
          {errors.length > 0 && (
            <span className="sdl-stat sdl-error-text">
              {counted(lang, errors.length, 'problemCountOne', 'problemCount')}
            </span>
          )}
        </>
      )}
      {graphLevel.map((e, i) => (
        <span key={`g${i}`} className="sdl-error-text" role="alert">
          {issueText(e, lang)}
        </span>
      ))}
      {notices.map((n, i) => (
        <span key={`n${i}`} className="sdl-notice" role="status">
          {n}
        </span>
      ))}
    </footer>
  );
});
