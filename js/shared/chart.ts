/** Pure helpers of the line charts (monitor, runs): series, scales, ticks and SVG paths. */
export interface Point {
  x: number;
  y: number;
}

export interface Series {
  name: string;
  points: Point[];
  last: number | null;
}

/**
 * One series per metric key (every key but `step`), in first-seen order;
 * `only` keeps just those keys, `skip` drops keys.
 */
export function seriesFrom(
  history: readonly Record<string, unknown>[],
  opts: { only?: readonly string[]; skip?: readonly string[] } = {}
): Series[] {
  const order: string[] = [];
  const map = new Map<string, Point[]>();
  for (const row of history) {
    const x = Number(row.step);
    if (!Number.isFinite(x)) {
      continue;
    }
    for (const [k, v] of Object.entries(row)) {
      if (k === 'step' || (opts.only && !opts.only.includes(k)) || opts.skip?.includes(k)) {
        continue;
      }
      if (!map.has(k)) {
        map.set(k, []);
        order.push(k);
      }
      if (typeof v === 'number' && Number.isFinite(v)) {
        map.get(k)!.push({ x, y: v });
      }
    }
  }
  return order.map(name => {
    const points = map.get(name)!;
    return { name, points, last: points.length ? points[points.length - 1].y : null };
  });
}

/** "Nice" tick values (1, 2, 5 × 10^k steps) covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    return [];
  }
  if (min === max) {
    const d = Math.abs(min) || 1;
    min -= d / 2;
    max += d / 2;
  }
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map(m => m * mag).find(s => s >= raw) ?? 10 * mag;
  const start = Math.ceil(min / step - 1e-9) * step;
  const out: number[] = [];
  for (let v = start; v <= max + step * 1e-9; v += step) {
    out.push(Number(v.toPrecision(12)));
  }
  return out;
}

export interface Extent {
  x: [number, number];
  y: [number, number];
}

export function extentOf(series: readonly Series[], logY = false): Extent | null {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const s of series) {
    for (const p of s.points) {
      if (logY && p.y <= 0) {
        continue;
      }
      x0 = Math.min(x0, p.x);
      x1 = Math.max(x1, p.x);
      y0 = Math.min(y0, p.y);
      y1 = Math.max(y1, p.y);
    }
  }
  if (!Number.isFinite(x0) || !Number.isFinite(y0)) {
    return null;
  }
  if (x0 === x1) {
    x1 = x0 + 1;
  }
  return { x: [x0, x1], y: [y0, y1] };
}

export type Scale = (v: number) => number;

export function linearScale(domain: [number, number], range: [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return v => r0 + (v - d0) * k;
}

export function logScale(domain: [number, number], range: [number, number]): Scale {
  const lin = linearScale([Math.log10(domain[0]), Math.log10(domain[1])], range);
  return v => lin(Math.log10(v));
}

/** SVG path through the points (skipping non-positive values on a log axis). */
export function pathFor(points: readonly Point[], sx: Scale, sy: Scale, logY = false): string {
  let d = '';
  let pen = false;
  for (const p of points) {
    if (logY && p.y <= 0) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`;
    pen = true;
  }
  return d;
}

/** Keep at most `max` points (every k-th, always the last) so long runs stay light to draw. */
export function thin(points: readonly Point[], max = 1500): Point[] {
  if (points.length <= max) {
    return points as Point[];
  }
  const k = Math.ceil(points.length / max);
  const out = points.filter((_, i) => i % k === 0);
  if (out[out.length - 1] !== points[points.length - 1]) {
    out.push(points[points.length - 1]);
  }
  return out;
}

/** Series from `[step, value]` pairs (the runs browser's curves). */
export function seriesOfPairs(name: string, pairs: readonly (readonly [number, number])[]): Series {
  const points = pairs
    .filter(p => Number.isFinite(p[0]) && Number.isFinite(p[1]))
    .map(([x, y]) => ({ x, y }));
  return { name, points, last: points.length ? points[points.length - 1].y : null };
}

/** Short number for axes and legends: 4 significant digits, exponent for tiny/huge values. */
export function fmtNumber(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) {
    return '–';
  }
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : Number(v.toPrecision(4)).toString();
}
