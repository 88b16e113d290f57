/** Status bar: totals of the live analysis, graph-level problems and widget notices. */
import React, { memo } from 'react';

import { formatBytes, formatCount } from '../shared/format';
import { useGraphIssues } from './selectors';
import { useCanvas } from './store';

export const AnalysisBar = memo(function AnalysisBar({ notices }: { notices: string[] }) {
  const analysis = useCanvas(s => s.analysis);
  const errors = analysis?.errors ?? [];
  const graphLevel = useGraphIssues();
  const memory = Object.entries(analysis?.memory ?? {});
  return (
    <footer className="sdl-statusbar" data-ok={analysis ? String(analysis.ok) : 'unknown'}>
      {analysis && (
        <>
          <span className={`sdl-status-dot ${analysis.ok ? 'sdl-ok' : 'sdl-bad'}`} />
          <span className="sdl-stat" data-stat="params">
            <b>{formatCount(analysis.params)}</b> params
          </span>
          <span className="sdl-stat" data-stat="flops">
            <b>{formatCount(analysis.flops_per_token)}</b> FLOPs/token
          </span>
          {memory.slice(0, 3).map(([k, v]) => (
            <span key={k} className="sdl-stat" data-stat={`memory-${k}`}>
              {k.replace(/_/g, ' ')} <b>{formatBytes(v)}</b>
            </span>
          ))}
          {errors.length > 0 && (
            <span className="sdl-stat sdl-error-text">
              {errors.length} problem{errors.length === 1 ? '' : 's'}
            </span>
          )}
        </>
      )}
      {graphLevel.map((e, i) => (
        <span key={`g${i}`} className="sdl-error-text" role="alert">
          {e.message}
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
