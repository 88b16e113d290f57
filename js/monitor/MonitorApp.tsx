/** Monitor view: live metric curves with legend, progress and status. */
import React, { memo, useMemo, useState } from 'react';

import type { AnyModel } from '../shared/anywidget';
import { useModelValue } from '../shared/model';
import { Button } from '../shared/ui';
import { extentOf, linearScale, logScale, niceTicks, pathFor, seriesFrom, thin } from './chart';

export interface MonitorModel {
  _view: string;
  title: string;
  history: Record<string, unknown>[];
  total_steps: number | null;
  status: string;
  running: boolean;
  log_scale: boolean;
  height: number;
  sample: string;
  can_stop: boolean;
}

const COLORS = [
  'var(--jp-brand-color1, #1976d2)',
  'var(--jp-warn-color1, #f57c00)',
  'var(--jp-success-color1, #388e3c)',
  'var(--jp-error-color1, #d32f2f)',
  'var(--jp-accent-color1, #7b1fa2)'
];

const PAD = { left: 52, right: 12, top: 10, bottom: 26 };

function fmt(v: number | null): string {
  if (v === null) {
    return '–';
  }
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : Number(v.toPrecision(4)).toString();
}

const Chart = memo(function Chart({
  history,
  logY,
  width,
  height
}: {
  history: Record<string, unknown>[];
  logY: boolean;
  width: number;
  height: number;
}) {
  const series = useMemo(() => seriesFrom(history), [history]);
  const ext = useMemo(() => extentOf(series, logY), [series, logY]);
  if (!ext) {
    return (
      <svg className="sdl-chart" width={width} height={height}>
        <text x={width / 2} y={height / 2} textAnchor="middle" className="sdl-chart-empty">
          waiting for the first logged step…
        </text>
      </svg>
    );
  }
  const xr: [number, number] = [PAD.left, width - PAD.right];
  const yr: [number, number] = [height - PAD.bottom, PAD.top];
  const sx = linearScale(ext.x, xr);
  const sy = logY ? logScale(ext.y, yr) : linearScale(ext.y, yr);
  const yTicks = logY
    ? niceTicks(Math.floor(Math.log10(ext.y[0])), Math.ceil(Math.log10(ext.y[1])), 4)
        .map(e => 10 ** e)
        .filter(v => v >= ext.y[0] * 0.999 && v <= ext.y[1] * 1.001)
    : niceTicks(ext.y[0], ext.y[1], 4);
  const xTicks = niceTicks(ext.x[0], ext.x[1], 6).filter(v => Number.isInteger(v));
  return (
    <svg className="sdl-chart" width={width} height={height} role="img" aria-label="metrics chart">
      {yTicks.map(t => (
        <g key={`y${t}`}>
          <line className="sdl-grid" x1={xr[0]} x2={xr[1]} y1={sy(t)} y2={sy(t)} />
          <text className="sdl-tick" x={xr[0] - 6} y={sy(t)} dy="0.32em" textAnchor="end">
            {fmt(t)}
          </text>
        </g>
      ))}
      {xTicks.map(t => (
        <text key={`x${t}`} className="sdl-tick" x={sx(t)} y={height - 8} textAnchor="middle">
          {t}
        </text>
      ))}
      {series.map((s, i) => (
        <path
          key={s.name}
          data-series={s.name}
          d={pathFor(thin(s.points), sx, sy, logY)}
          fill="none"
          stroke={COLORS[i % COLORS.length]}
          strokeWidth={1.6}
        />
      ))}
    </svg>
  );
});

export function MonitorApp({ model }: { model: AnyModel<MonitorModel> }) {
  const title = useModelValue(model, 'title');
  const history = useModelValue(model, 'history') ?? [];
  const total = useModelValue(model, 'total_steps');
  const status = useModelValue(model, 'status');
  const running = useModelValue(model, 'running');
  const logY = useModelValue(model, 'log_scale');
  const height = useModelValue(model, 'height') ?? 280;
  const sample = useModelValue(model, 'sample');
  const canStop = useModelValue(model, 'can_stop');
  const [width, setWidth] = useState(640);
  const ref = React.useRef<HTMLDivElement>(null);
  React.useEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === 'undefined') {
      return;
    }
    const ro = new ResizeObserver(entries => setWidth(Math.max(240, Math.floor(entries[0].contentRect.width))));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const series = useMemo(() => seriesFrom(history), [history]);
  const lastStep = history.length ? Number(history[history.length - 1].step) : null;
  const progress = total && lastStep !== null ? Math.min(1, (lastStep + 1) / total) : null;
  return (
    <div className="sdl-monitor" data-running={String(running)}>
      <header className="sdl-monitor-header">
        <span className="sdl-monitor-title">{title}</span>
        <span className="sdl-monitor-status">{status}</span>
        {canStop && running && (
          <Button onClick={() => model.send({ type: 'stop' })} data-action="stop" title="Stop after this step">
            Stop
          </Button>
        )}
        <Button
          aria-pressed={logY}
          onClick={() => {
            model.set('log_scale', !logY);
            model.save_changes();
          }}
        >
          {logY ? 'log y' : 'linear y'}
        </Button>
      </header>
      {progress !== null && (
        <div className="sdl-progress" role="progressbar" aria-valuenow={Math.round(progress * 100)}>
          <div className="sdl-progress-bar" style={{ width: `${progress * 100}%` }} />
        </div>
      )}
      <div ref={ref} className="sdl-monitor-chart">
        <Chart history={history} logY={logY} width={width} height={height - 70} />
      </div>
      <footer className="sdl-legend">
        {series.map((s, i) => (
          <span key={s.name} className="sdl-legend-item" data-series={s.name}>
            <span className="sdl-legend-swatch" style={{ background: COLORS[i % COLORS.length] }} />
            {s.name} <b>{fmt(s.last)}</b>
          </span>
        ))}
      </footer>
      {sample && (
        <pre className="sdl-monitor-sample" title="latest sample">
          {sample}
        </pre>
      )}
    </div>
  );
}
