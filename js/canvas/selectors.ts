/**
 * Selectors of the canvas store that several components share: a block's
 * problems from the live analysis. Components subscribe through these, so
 * each re-renders only when its own block's problems change.
 */
import type { CanvasState } from './store';
import { useCanvas } from './store';
import type { AnalysisIssue } from './types';
import type { Lang } from '../shared/i18n';

const NONE: AnalysisIssue[] = [];

/** The analysis problems of node `id`, in the analysis's order. */
export function nodeIssues(s: CanvasState, id: string | null | undefined): AnalysisIssue[] {
  if (!id) {
    return NONE;
  }
  const found = (s.analysis?.errors ?? []).filter(e => e.node_id === id);
  return found.length ? found : NONE;
}

/** Same problems, same order (so a new analysis with the same problems re-renders nothing). */
export function sameIssues(a: readonly AnalysisIssue[], b: readonly AnalysisIssue[]): boolean {
  return (
    a === b ||
    (a.length === b.length && a.every((e, i) => e.message === b[i].message && e.field === b[i].field))
  );
}

/** A problem's sentence in the interface's language (Korean where Python gave one, else English). */
export function issueText(e: Pick<AnalysisIssue, 'message' | 'message_ko'>, lang: Lang = 'en'): string {
  return (lang === 'ko' && e.message_ko) || e.message;
}

/** One line per problem: "field: message", or the message alone. */
export function issueLines(issues: readonly AnalysisIssue[], lang: Lang = 'en'): string[] {
  return issues.map(e => (e.field ? `${e.field}: ${issueText(e, lang)}` : issueText(e, lang)));
}

/** Subscribe to the problems of node `id`. */
export function useNodeIssues(id: string | null | undefined): AnalysisIssue[] {
  return useCanvas(s => nodeIssues(s, id), sameIssues);
}

/** Problems about the whole design (no node). */
export function graphIssues(s: CanvasState): AnalysisIssue[] {
  const found = (s.analysis?.errors ?? []).filter(e => !e.node_id);
  return found.length ? found : NONE;
}

export function useGraphIssues(): AnalysisIssue[] {
  return useCanvas(graphIssues, sameIssues);
}
