"""Static HTML for notebooks: line charts as SVG and small tables, escaped, with no script and no external file.

What a saved notebook shows where widgets do not render (HTML export, GitHub, nbviewer): the monitor's final
curves, the runs table, an analysis, a run. Pure Python (no matplotlib, no torch), so every layer may use it.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: Colours of the series, in order (the widgets' palette).
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
#: A chart draws at most this many points per series (evenly thinned, the last one always kept).
MAX_POINTS = 400
FONT = "font:12px sans-serif"

esc = html.escape


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def thin(points: Sequence[tuple[float, float]], limit: int = MAX_POINTS) -> list[tuple[float, float]]:
    """At most ``limit`` of ``points``, evenly spaced, the first and last kept."""
    if len(points) <= limit:
        return list(points)
    step = (len(points) - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]


def _ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 1:
        return f"{v:.3g}"
    return f"{v:.2g}"


def line_chart(series: Mapping[str, Iterable[tuple[float, float]]], *, width: int = 560, height: int = 220,
               log_y: bool = False, x_label: str = "step", title: str = "") -> str:
    """An SVG line chart: one line per named series of (x, y) points (non-finite values skipped), axes with
    ticks, a legend with each series' last value."""
    clean = {}
    for name, pts in series.items():
        kept = [(float(x), float(y)) for x, y in pts if _finite(x) and _finite(y) and (not log_y or y > 0)]
        if kept:
            clean[name] = thin(kept)
    if not clean:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="40" class="sdl-static-chart">'
                f'<text x="8" y="24" style="{FONT}" fill="#666">(no points yet)</text></svg>')
    left, right, top, bottom = 56, 12, 22 if title else 10, 34
    xs = [x for pts in clean.values() for x, _ in pts]
    ys = [math.log10(y) if log_y else y for pts in clean.values() for _, y in pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:  # a flat line (a constant learning rate): a band of ±10 % around it
        d = abs(y0) * 0.1 or 0.5
        y0, y1 = y0 - d, y1 + d
    pad = (y1 - y0) * 0.05
    y0, y1 = y0 - pad, y1 + pad
    w, h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * w

    def py(y: float) -> float:
        v = math.log10(y) if log_y else y
        return top + (1 - (v - y0) / (y1 - y0)) * h

    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
              f'viewBox="0 0 {width} {height}" class="sdl-static-chart" style="{FONT}">'),
             f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#ccc"/>']
    if title:
        parts.append(f'<text x="{left}" y="15" font-weight="bold">{esc(title)}</text>')
    for t in _ticks(x0, x1):
        parts.append(f'<line x1="{px(t):.1f}" y1="{top + h}" x2="{px(t):.1f}" y2="{top + h + 4}" stroke="#999"/>'
                     f'<text x="{px(t):.1f}" y="{top + h + 16}" text-anchor="middle" fill="#555">{_fmt(t)}</text>')
    for t in _ticks(y0, y1):
        y = top + (1 - (t - y0) / (y1 - y0)) * h
        label = _fmt(10 ** t) if log_y else _fmt(t)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + w}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{label}</text>')
    parts.append(f'<text x="{left + w / 2}" y="{height - 4}" text-anchor="middle" fill="#555">{esc(x_label)}</text>')
    for i, (name, pts) in enumerate(clean.items()):
        color = COLORS[i % len(COLORS)]
        path = " ".join(f"{'M' if j == 0 else 'L'}{px(x):.1f},{py(y):.1f}" for j, (x, y) in enumerate(pts))
        parts.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="1.6" data-series="{esc(name)}"/>')
        lx = left + 8 + i * 150
        parts.append(f'<rect x="{lx}" y="{top + 6}" width="10" height="3" fill="{color}"/>'
                     f'<text x="{lx + 14}" y="{top + 11}" fill="#333">{esc(name)} {_fmt(pts[-1][1])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def table(rows: Sequence[Sequence[Any]], header: Sequence[str] | None = None, *, cls: str = "") -> str:
    """An HTML table of already-formatted cells (escaped here)."""
    style = "border-collapse:collapse;font:12px sans-serif"
    cell = "padding:2px 8px;border-bottom:1px solid #ddd;text-align:left"
    out = [f'<table class="{esc(cls)}" style="{style}">']
    if header:
        out.append("<thead><tr>" + "".join(f'<th style="{cell}">{esc(str(h))}</th>' for h in header) + "</tr></thead>")
    out.append("<tbody>")
    for row in rows:
        out.append("<tr>" + "".join(f'<td style="{cell}">{esc("" if v is None else str(v))}</td>' for v in row)
                   + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def human_count(n: Any) -> str:
    """``858880`` → ``'859K'``; ``None`` → ``''``."""
    if not _finite(n):
        return ""
    n = float(n)
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n:.0f}"
