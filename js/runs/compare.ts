/** Pure helpers of the runs browser: overlay series, table formatting, selection. */
import { Series, seriesOfPairs } from '../shared/chart';
import type { RunRow, RunsState } from '../shared/contract';
import { Lang, t, TextKey } from '../shared/i18n';

/** A run's row and the curves come from Python's contract (`shared/contract.ts`). */
export type { RunRow } from '../shared/contract';

export type Curves = RunsState['curves'];

export interface OverlaySeries extends Series {
  id: string;
  run: string;
  metric: string;
  runIndex: number;
}

/** One series per (selected run, metric), runs in selection order, `loss` before `val_loss`. */
export function overlaySeries(
  selected: readonly string[],
  curves: Curves,
  names: Record<string, string>,
  metrics: readonly string[] = ['loss', 'val_loss']
): OverlaySeries[] {
  const out: OverlaySeries[] = [];
  selected.forEach((rid, runIndex) => {
    const c = curves[rid];
    if (!c) {
      return;
    }
    for (const metric of metrics) {
      const pairs = c[metric];
      if (pairs && pairs.length) {
        const s = seriesOfPairs(`${names[rid] ?? rid} ${metric}`, pairs);
        out.push({ ...s, id: `${rid}:${metric}`, run: rid, metric, runIndex });
      }
    }
  });
  return out;
}

/** Toggle `rid` in the selection (kept in click order). */
export function toggle(selected: readonly string[], rid: string): string[] {
  return selected.includes(rid) ? selected.filter(r => r !== rid) : [...selected, rid];
}

/** `2026-11-28 22:31` in local time ('' for none). */
export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) {
    return '';
  }
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** The steps cell: the plan, or `reached/plan` for a run that ended early (stopped, failed). */
export function formatSteps(r: Pick<RunRow, 'step' | 'steps'>): string {
  if (r.steps === null || r.steps === undefined) {
    return '–';
  }
  const reached = r.step;
  return reached !== null && reached !== undefined && reached !== r.steps ? `${reached}/${r.steps}` : String(r.steps);
}

/** A parameter value for a diff cell (JSON for structures, '—' when absent). */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) {
    return '—';
  }
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

const STATES = ['queued', 'running', 'finished', 'stopped', 'killed', 'failed', 'lost'];

/** A run's status in the page's language (MLflow's own words, e.g. from an older store, lower-cased). */
export function stateLabel(lang: Lang, status: string): string {
  const s = status.toLowerCase();
  return STATES.includes(s) ? t(lang, `state_${s}` as TextKey) : s;
}

/** The status badge's tooltip: where `sd.resume` goes on from, for a run that did not finish. */
export function statusTitle(lang: Lang, r: Pick<RunRow, 'status' | 'checkpoint'>): string {
  const s = r.status.toLowerCase();
  if (!r.checkpoint || s === 'finished' || s === 'running' || s === 'queued') {
    return '';
  }
  return t(lang, 'resumeFrom', { where: r.checkpoint });
}

/** "resumed 1×" next to a run in several parts; `long`: each part's name and steps. */
export function segmentsText(lang: Lang, segments: RunRow['segments'], long = false): string {
  const n = segments?.length ?? 0;
  if (!long) {
    return t(lang, 'segments', { n: n - 1 });
  }
  const parts = (segments ?? []).map(s => `${s.name} (${s.start_step}–${s.step ?? '…'})`).join(', ');
  return t(lang, 'segmentsTitle', { n, parts });
}
