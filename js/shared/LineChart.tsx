/** An SVG line chart of several series (monitor and runs browser). */
import React, { memo, useEffect, useRef, useState } from 'react';

import {
  Series,
  extentOf,
  fmtNumber,
  linearScale,
  logScale,
  niceTicks,
  pathFor,
  thin
} from './chart';

export interface StyledSeries extends Series {
  color: string;
  dashed?: boolean;
  /** Goes to `data-series` (defaults to the name). */
  id?: string;
}

const PAD = { left: 52, right: 12, top: 10, bottom: 22 };

export const LineChart = memo(function LineChart({
  series,
  logY = false,
  width,
  height,
  label,
  empty = 'waiting for the first logged step…',
  yFormat = fmtNumber,
  ticks = 4
}: {
  series: StyledSeries[];
  logY?: boolean;
  width: number;
  height: number;
  label: string;
  empty?: string;
  yFormat?: (v: number) => string;
  ticks?: number;
}) {
  const ext = extentOf(series, logY);
  if (!ext) {
    return (
      <svg className="sdl-chart" width={width} height={height} data-chart={label}>
        <text x={width / 2} y={height / 2} textAnchor="middle" className="sdl-chart-empty">
          {empty}
        </text>
      </svg>
    );
  }
  const xr: [number, number] = [PAD.left, width - PAD.right];
  const yr: [number, number] = [height - PAD.bottom, PAD.top];
  const sx = linearScale(ext.x, xr);
  const sy = logY ? logScale(ext.y, yr) : linearScale(ext.y, yr);
  const yTicks = logY
    ? niceTicks(Math.floor(Math.log10(ext.y[0])), Math.ceil(Math.log10(ext.y[1])), ticks)
        .map(e => 10 ** e)
        .filter(v => v >= ext.y[0] * 0.999 && v <= ext.y[1] * 1.001)
    : niceTicks(ext.y[0], ext.y[1], ticks);
  const xTicks = niceTicks(ext.x[0], ext.x[1], Math.max(2, Math.floor(width / 90))).filter(v =>
    Number.isInteger(v)
  );
  return (
    <svg className="sdl-chart" width={width} height={height} role="img" aria-label={label} data-chart={label}>
      {yTicks.map(t => (
        <g key={`y${t}`}>
          <line className="sdl-grid" x1={xr[0]} x2={xr[1]} y1={sy(t)} y2={sy(t)} />
          <text className="sdl-tick" x={xr[0] - 6} y={sy(t)} dy="0.32em" textAnchor="end">
            {yFormat(t)}
          </text>
        </g>
      ))}
      {xTicks.map(t => (
        <text key={`x${t}`} className="sdl-tick" x={sx(t)} y={height - 6} textAnchor="middle">
          {t}
        </text>
      ))}
      {series.map(s => (
        <path
          key={s.id ?? s.name}
          data-series={s.id ?? s.name}
          data-points={s.points.length}
          d={pathFor(thin(s.points), sx, sy, logY)}
          fill="none"
          stroke={s.color}
          strokeWidth={1.6}
          strokeDasharray={s.dashed ? '5 3' : undefined}
        />
      ))}
    </svg>
  );
});

/** Width of an element, following resizes (for charts that fill their container). */
export function useWidth(initial = 640): [React.RefObject<HTMLDivElement | null>, number] {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(initial);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === 'undefined') {
      return;
    }
    const ro = new ResizeObserver(entries =>
      setWidth(Math.max(240, Math.floor(entries[0].contentRect.width)))
    );
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, width];
}

export const CHART_COLORS = [
  'var(--jp-brand-color1, #1976d2)',
  'var(--jp-warn-color1, #f57c00)',
  'var(--jp-success-color1, #388e3c)',
  'var(--jp-error-color1, #d32f2f)',
  'var(--jp-accent-color1, #7b1fa2)',
  '#00838f',
  '#6d4c41',
  '#c2185b'
];
