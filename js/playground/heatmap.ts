/** Pure helpers of the playground's look-inside panels (probability bars, attention heatmap). */

/** A token as it should read in a label: whitespace made visible, long pieces shortened. */
export function showToken(token: string, max = 8): string {
  const visible = token.replace(/\n/g, '⏎').replace(/\t/g, '⇥').replace(/ /g, '␣');
  if (visible === '') {
    return '∅';
  }
  return visible.length > max ? `${visible.slice(0, max - 1)}…` : visible;
}

import type { AttentionData } from '../shared/contract';

export type { AttentionData };

export function isAttentionData(x: unknown): x is AttentionData {
  const a = x as AttentionData;
  return !!a && Array.isArray(a.tokens) && Array.isArray(a.weights) && a.weights.length > 0;
}

/** The T×T map of one layer and head (clamped to what exists), or null. */
export function headMap(a: AttentionData, layer: number, head: number): number[][] | null {
  const l = a.weights[Math.min(Math.max(0, layer), a.weights.length - 1)];
  if (!l || l.length === 0) {
    return null;
  }
  return l[Math.min(Math.max(0, head), l.length - 1)] ?? null;
}

export interface HeatmapLayout {
  cell: number;
  left: number; // room for row labels
  top: number; // room for column labels
  width: number;
  height: number;
}

/** Size of the heatmap drawing: cells of 6–28 px fitting `maxSize`, plus label margins. */
export function heatmapLayout(n: number, maxSize = 420, label = 56): HeatmapLayout {
  const cell = Math.max(6, Math.min(28, Math.floor((maxSize - label) / Math.max(1, n))));
  return { cell, left: label, top: label, width: label + cell * n, height: label + cell * n };
}

/** Which cell (row = query i, col = key j) a point falls on, or null. */
export function cellAt(lay: HeatmapLayout, n: number, x: number, y: number): { i: number; j: number } | null {
  const j = Math.floor((x - lay.left) / lay.cell);
  const i = Math.floor((y - lay.top) / lay.cell);
  return i >= 0 && j >= 0 && i < n && j < n ? { i, j } : null;
}
