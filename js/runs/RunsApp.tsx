/** Runs browser view: MLflow runs table; overlaid loss curves and diffs of the selected runs. */
import React, { useMemo, useState } from 'react';

import type { AnyModel } from '../shared/anywidget';
import type { RunsState, RunsToPython } from '../shared/contract';
import { CHART_COLORS, LineChart, useWidth } from '../shared/LineChart';
import { fmtNumber } from '../shared/chart';
import { formatCount } from '../shared/format';
import { useModelValue } from '../shared/model';
import { counted, t, useLanguage } from '../shared/i18n';
import { Button } from '../shared/ui';
import { formatSteps, formatTime, formatValue, overlaySeries, segmentsText, stateLabel, statusTitle, toggle } from './compare';

export type { RunsState as RunsModel };

function runColor(i: number): string {
  return CHART_COLORS[i % CHART_COLORS.length];
}

export function RunsApp({ model }: { model: AnyModel<RunsState> }) {
  const rows = useModelValue(model, 'rows') ?? [];
  const selected = useModelValue(model, 'selected') ?? [];
  const curves = useModelValue(model, 'curves') ?? {};
  const designDiff = useModelValue(model, 'design_diff') ?? [];
  const paramsDiff = useModelValue(model, 'params_diff') ?? [];
  const error = useModelValue(model, 'error');
  const loading = useModelValue(model, 'loading');
  const uri = useModelValue(model, 'tracking_uri');
  const height = useModelValue(model, 'height') ?? 260;
  const lang = useLanguage(model);
  const [onlyDiff, setOnlyDiff] = useState(true);
  const [ref, width] = useWidth();

  const names = useMemo(() => Object.fromEntries(rows.map(r => [r.run_id, r.name])), [rows]);
  const series = useMemo(
    () =>
      overlaySeries(selected, curves, names).map(s => ({
        ...s,
        color: runColor(s.runIndex),
        dashed: s.metric !== 'loss'
      })),
    [selected, curves, names]
  );
  const select = (rid: string) => {
    model.set('selected', toggle(selected, rid));
    model.save_changes();
  };
  const shownParams = onlyDiff ? paramsDiff.filter(p => p.differs) : paramsDiff;
  const differing = paramsDiff.filter(p => p.differs).length;

  return (
    <div ref={ref} className="sdl-runs" data-loading={String(loading)} data-selected={selected.length} lang={lang}>
      <header className="sdl-runs-header">
        <span className="sdl-runs-title">{t(lang, 'runs')}</span>
        <span className="sdl-runs-count">
          {counted(lang, rows.length, 'runsCountOne', 'runsCount').replace('{k}', String(selected.length))}
        </span>
        <span className="sdl-runs-uri" title={t(lang, 'trackingStore')}>
          {uri}
        </span>
        <Button data-action="refresh" onClick={() => model.send({ type: 'refresh' } satisfies RunsToPython)} disabled={loading}>
          {t(lang, loading ? 'loading' : 'refresh')}
        </Button>
      </header>
      {error && (
        <div className="sdl-runs-error" role="alert">
          {error}
        </div>
      )}
      <div className="sdl-runs-table-wrap" style={{ maxHeight: height }}>
        <table className="sdl-runs-table">
          <thead>
            <tr>
              <th />
              <th>{t(lang, 'colRun')}</th>
              <th>{t(lang, 'colDesign')}</th>
              <th>{t(lang, 'colStatus')}</th>
              <th>{t(lang, 'colStarted')}</th>
              <th className="num">{t(lang, 'colSteps')}</th>
              <th className="num">{t(lang, 'colTrainLoss')}</th>
              <th className="num">{t(lang, 'colValLoss')}</th>
              <th className="num">{t(lang, 'colParams')}</th>
              <th className="num">{t(lang, 'colTokS')}</th>
              <th>{t(lang, 'colWorker')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 && (
              <tr>
                <td colSpan={11} className="sdl-runs-empty">
                  {t(lang, 'noRuns')}
                </td>
              </tr>
            )}
            {rows.map(r => {
              const idx = selected.indexOf(r.run_id);
              return (
                <tr
                  key={r.run_id}
                  data-run-id={r.run_id}
                  className={idx >= 0 ? 'sdl-runs-selected' : ''}
                  onClick={() => select(r.run_id)}
                >
                  <td>
                    <input
                      type="checkbox"
                      checked={idx >= 0}
                      onChange={() => select(r.run_id)}
                      onClick={e => e.stopPropagation()}
                      aria-label={t(lang, 'compareRun', { name: r.name })}
                    />
                    {idx >= 0 && <span className="sdl-legend-swatch" style={{ background: runColor(idx) }} />}
                  </td>
                  <td className="sdl-runs-name" title={r.run_id}>
                    {r.name}
                    {(r.segments?.length ?? 0) > 1 && (
                      <span className="sdl-runs-segments" title={segmentsText(lang, r.segments, true)}>
                        {' '}
                        {segmentsText(lang, r.segments)}
                      </span>
                    )}
                  </td>
                  <td>{r.design}</td>
                  <td>
                    <span
                      className={`sdl-badge sdl-badge-${r.status.toLowerCase()}`}
                      data-status={r.status.toLowerCase()}
                      title={statusTitle(lang, r)}
                    >
                      {stateLabel(lang, r.status)}
                    </span>
                  </td>
                  <td>{formatTime(r.start_time)}</td>
                  <td className="num">{formatSteps(r)}</td>
                  <td className="num">{fmtNumber(r.train_loss)}</td>
                  <td className="num">{fmtNumber(r.val_loss)}</td>
                  <td className="num">{formatCount(r.parameters)}</td>
                  <td className="num">{r.tokens_per_s ? Math.round(r.tokens_per_s).toLocaleString('en-US') : '–'}</td>
                  <td className="sdl-runs-worker" data-field="worker" title={r.worker ?? ''}>
                    {r.worker || t(lang, 'inKernel')}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {selected.length > 0 && (
        <div className="sdl-runs-compare">
          <div className="sdl-runs-chart">
            <LineChart
              series={series}
              width={Math.max(240, width - 18)}
              height={220}
              label={t(lang, 'selectedLoss')}
              empty={t(lang, 'noLoss')}
            />
            <div className="sdl-legend">
              {series.map(s => (
                <span key={s.id} className="sdl-legend-item" data-series={s.id}>
                  <span
                    className={`sdl-legend-swatch${s.dashed ? ' sdl-dashed' : ''}`}
                    style={{ background: s.color }}
                  />
                  {s.name} <b>{fmtNumber(s.last)}</b>
                </span>
              ))}
            </div>
          </div>
          {selected.length >= 2 && (
            <div className="sdl-runs-diffs">
              <section className="sdl-runs-diff" data-diff="design">
                <h4>{t(lang, 'designDiff')}</h4>
                {designDiff.length === 0 ? (
                  <p className="sdl-runs-same">{t(lang, 'designSame')}</p>
                ) : (
                  <table>
                    <thead>
                      <tr>
                        <th>{t(lang, 'colBlock')}</th>
                        <th>{t(lang, 'colSetting')}</th>
                        {selected.map((rid, i) => (
                          <th key={rid} style={{ color: runColor(i) }}>
                            {names[rid] ?? rid}
                          </th>
                        ))}
                      </tr>
                    </thead>
                    <tbody>
                      {designDiff.map(d => (
                        <tr key={`${d.node}/${d.field}`} data-node={d.node} data-field={d.field}>
                          <td title={d.node}>{d.titles?.[lang] ?? d.node}</td>
                          <td>{d.field}</td>
                          {selected.map(rid => (
                            <td key={rid}>{formatValue(d.values[rid])}</td>
                          ))}
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
              </section>
              <section className="sdl-runs-diff" data-diff="params">
                <h4>
                  {t(lang, 'parameters')} <span className="sdl-runs-count">{t(lang, 'differCount', { n: differing })}</span>
                  <label className="sdl-runs-toggle">
                    <input
                      type="checkbox"
                      checked={onlyDiff}
                      onChange={e => setOnlyDiff(e.target.checked)}
                      data-control="only-differences"
                    />{' '}
                    {t(lang, 'onlyDifferences')}
                  </label>
                </h4>
                <table>
                  <thead>
                    <tr>
                      <th>{t(lang, 'colParameter')}</th>
                      {selected.map((rid, i) => (
                        <th key={rid} style={{ color: runColor(i) }}>
                          {names[rid] ?? rid}
                        </th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {shownParams.map(p => (
                      <tr key={p.key} data-param={p.key} className={p.differs ? 'sdl-differs' : ''}>
                        <td>
                          {p.key}
                          {p.group === 'design' && <span className="sdl-runs-group"> {t(lang, 'designGroup')}</span>}
                        </td>
                        {selected.map(rid => (
                          <td key={rid}>{formatValue(p.values[rid])}</td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </section>
            </div>
          )}
        </div>
      )}
    </div>
  );
}
