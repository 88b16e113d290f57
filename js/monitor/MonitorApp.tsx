/** Monitor view: loss and learning-rate curves, progress, speed, sample, status and Stop. */
import React, { useMemo, useSyncExternalStore } from 'react';

import type { AnyModel } from '../shared/anywidget';
import type { MonitorState } from '../shared/contract';
import { CHART_COLORS, LineChart, StyledSeries, useWidth } from '../shared/LineChart';
import { fmtNumber, seriesFrom } from '../shared/chart';
import { Lang, t, TextKey, useLanguage } from '../shared/i18n';
import { useModelValue } from '../shared/model';
import { Button } from '../shared/ui';
import { historyStore } from './history';

/** The monitor's traitlets, as Python declares them (generated into js/shared/contract.ts). */
export type MonitorModel = MonitorState;

/** Series drawn on the small second chart instead of the loss chart. */
const SECONDARY = ['lr'];

/** `75` → `1m15s`. */
export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) {
    return '–';
  }
  const t = Math.max(0, Math.round(s));
  if (t >= 3600) {
    return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
  }
  return t >= 60 ? `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s` : `${t}s`;
}

/**
 * The status line in the page's language. Python writes it in English ("finished at step 40", "stopped at step
 * 7; sd.resume(run) continues from step-000007", "running on cpu (float32)"); Korean is made from the state.
 */
export function statusText(lang: Lang, state: string, status: string, step: number, stopping: boolean): string {
  if (lang === 'en' || !status) {
    return status;
  }
  if (stopping && (state === 'running' || state === 'queued')) {
    return t(lang, 'stoppingAfter', { n: step + 1 });
  }
  const resume = /continues from (\S+)$/.exec(status);
  const then = resume ? ` · ${t(lang, 'resumeFrom', { where: resume[1] })}` : '';
  switch (state) {
    case 'finished':
      return t(lang, 'finishedAt', { n: step });
    case 'stopped':
      return t(lang, status.startsWith('killed') ? 'killedAt' : 'stoppedAt', { n: step }) + then;
    case 'failed':
      return t(lang, 'failedAt', { n: step }) + then;
    case 'queued':
      return t(lang, 'state_queued');
    case 'running':
      return `${t(lang, 'state_running')} · ${status.replace(/^running on /, '')}`;
    default:
      return status;
  }
}

/** A run state's name in the page's language ("" stays ""). */
export function stateName(lang: Lang, state: string): string {
  const key = `state_${state}` as TextKey;
  return state && key in { state_queued: 1, state_running: 1, state_finished: 1, state_stopped: 1, state_killed: 1,
    state_failed: 1, state_lost: 1 } ? t(lang, key) : state;
}

/** `0.123` → `12%`, `0.0042` → `0.42%`: MFU shown with two significant figures below 10%. */
export function formatPercent(fraction: number): string {
  const p = fraction * 100;
  return p >= 10 ? `${Math.round(p)}%` : `${p.toPrecision(2)}%`;
}

function colored(series: ReturnType<typeof seriesFrom>, offset = 0): StyledSeries[] {
  return series.map((s, i) => ({ ...s, color: CHART_COLORS[(i + offset) % CHART_COLORS.length] }));
}

export function MonitorApp({ model }: { model: AnyModel<MonitorModel> }) {
  const store = historyStore(model);
  const history = useSyncExternalStore(store.subscribe, store.get, store.get);
  const title = useModelValue(model, 'title');
  const total = useModelValue(model, 'total_steps');
  const status = useModelValue(model, 'status');
  const running = useModelValue(model, 'running');
  const logY = useModelValue(model, 'log_scale');
  const height = useModelValue(model, 'height') ?? 280;
  const sample = useModelValue(model, 'sample');
  const sampleStep = useModelValue(model, 'sample_step');
  const canStop = useModelValue(model, 'can_stop');
  const state = useModelValue(model, 'state') ?? '';
  const stepValue = useModelValue(model, 'step') ?? 0;
  const speed = useModelValue(model, 'tokens_per_s') ?? 0;
  const precision = useModelValue(model, 'precision') ?? '';
  const precisionRequested = useModelValue(model, 'precision_requested') ?? '';
  const precisionReason = useModelValue(model, 'precision_reason') ?? '';
  const mfu = useModelValue(model, 'mfu') ?? 0;
  const peak = useModelValue(model, 'peak_flops') ?? 0;
  const eta = useModelValue(model, 'eta');
  const error = useModelValue(model, 'error');
  const mlflowId = useModelValue(model, 'mlflow_run_id');
  const experiment = useModelValue(model, 'experiment');
  const stopRequested = useModelValue(model, 'stop_requested');
  const lang = useLanguage(model);
  const [ref, width] = useWidth();

  const main = useMemo(() => colored(seriesFrom(history, { skip: SECONDARY })), [history]);
  const second = useMemo(() => colored(seriesFrom(history, { only: SECONDARY }), 2), [history]);
  const lastStep = history.length ? Number(history[history.length - 1].step) : null;
  // a followed run reports 1-based steps done; plain `log(step)` calls count from 0
  const done = state ? stepValue : lastStep !== null ? lastStep + 1 : 0;
  const progress = total ? Math.min(1, done / total) : null;
  const hasLr = second.some(s => s.points.length > 0);
  const chartHeight = Math.max(100, height - (hasLr ? 150 : 80));

  return (
    <div
      className="sdl-monitor"
      data-running={String(running)}
      data-state={state}
      data-points={history.length}
      lang={lang}
    >
      <header className="sdl-monitor-header">
        <span className="sdl-monitor-title">{title}</span>
        {state && (
          <span className={`sdl-badge sdl-badge-${state}`} data-monitor-state={state}>
            {stateName(lang, state)}
          </span>
        )}
        <span className="sdl-monitor-status">
          {state === 'running' && !stopRequested && progress !== null
            ? ''
            : statusText(lang, state, status, stepValue, Boolean(stopRequested))}
        </span>
        {state && (
          <Button
            onClick={() => model.send({ type: 'stop' })}
            data-action="stop"
            disabled={!canStop}
            title={t(lang, canStop ? 'monitorStopTitle' : 'monitorNotRunning')}
          >
            {t(lang, stopRequested && running ? 'monitorStopping' : 'monitorStop')}
          </Button>
        )}
        <Button
          aria-pressed={logY}
          onClick={() => {
            model.set('log_scale', !logY);
            model.save_changes();
          }}
        >
          {t(lang, logY ? 'logY' : 'linearY')}
        </Button>
      </header>
      {progress !== null && (
        <div className="sdl-monitor-progress">
          <div
            className="sdl-progress"
            role="progressbar"
            aria-valuemin={0}
            aria-valuemax={total ?? undefined}
            aria-valuenow={done}
          >
            <div className="sdl-progress-bar" style={{ width: `${progress * 100}%` }} />
          </div>
          <span className="sdl-monitor-figures">
            <span data-figure="steps">
              {done}/{total}
            </span>
            {state && (
              <>
                <span data-figure="speed">
                  {t(lang, 'tokPerS', { n: speed ? Math.round(speed).toLocaleString('en-US') : '–' })}
                </span>
                <span data-figure="eta">{t(lang, 'eta', { t: formatSeconds(eta) })}</span>
                {precision && (
                  <span data-figure="precision" title={precisionReason}>
                    {precisionRequested === 'auto' ? t(lang, 'precisionAuto', { dtype: precision }) : precision}
                  </span>
                )}
                {peak > 0 && (
                  <span
                    data-figure="mfu"
                    title={t(lang, 'mfuHelp', { dtype: precision || 'float32', peak: Math.round(peak / 1e9) })}
                  >
                    {t(lang, 'mfu', { p: mfu > 0 ? formatPercent(mfu) : '–' })}
                  </span>
                )}
              </>
            )}
          </span>
        </div>
      )}
      {error && (
        <div className="sdl-monitor-error" role="alert">
          {error}
        </div>
      )}
      <div ref={ref} className="sdl-monitor-chart">
        <LineChart series={main} logY={logY} width={width} height={chartHeight} label={t(lang, 'lossChart')} />
        {hasLr && (
          <LineChart
            series={second}
            width={width}
            height={70}
            label={t(lang, 'lrChart')}
            ticks={2}
            yFormat={v => v.toExponential(1)}
          />
        )}
      </div>
      <footer className="sdl-legend">
        {[...main, ...second].map(s => (
          <span key={s.name} className="sdl-legend-item" data-series={s.name}>
            <span className="sdl-legend-swatch" style={{ background: s.color }} />
            {s.name} <b>{fmtNumber(s.last)}</b>
          </span>
        ))}
        {(mlflowId || experiment) && (
          <span className="sdl-monitor-mlflow" title={t(lang, 'mlflowTitle')}>
            MLflow {experiment && <span data-field="experiment">{experiment}</span>}
            {mlflowId && (
              <code data-field="mlflow-run-id">{mlflowId}</code>
            )}
          </span>
        )}
      </footer>
      {sample && (
        <pre className="sdl-monitor-sample" title={t(lang, 'sampleAt', { n: sampleStep })} data-step={sampleStep}>
          {sample}
        </pre>
      )}
    </div>
  );
}
