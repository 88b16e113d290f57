/**
 * The JSON the canvas receives from Python (catalogue, analysis, templates):
 * the types are generated from Python's pydantic models (`shared/contract.ts`);
 * this module adds the canvas's helpers over them.
 */
import type { AnalysisResult, CanvasState, Catalog, CatalogBlock, TemplateRow } from '../shared/contract';
import type { Lang } from '../shared/i18n';

export type { AnalysisIssue, AnalysisResult, Catalog, CatalogBlock, NodeAnalysis, TemplateRow } from '../shared/contract';

/** The language the canvas shows ("auto" resolved). */
export type Language = Lang;

/** The analysis traitlet holds `{}` until there is one: that reads as null here. */
export function analysisOf(raw: CanvasState['analysis_json'] | null | undefined): AnalysisResult | null {
  return raw && 'ok' in raw ? (raw as AnalysisResult) : null;
}

/** The catalogue traitlet holds `{}` until it is set: that reads as null here. */
export function catalogOf(raw: CanvasState['catalog'] | null | undefined): Catalog | null {
  return raw && 'blocks' in raw ? (raw as Catalog) : null;
}

/** Catalogue blocks grouped by category, in the catalogue's category order. */
export function groupByCategory(catalog: Catalog | null): { category: string; blocks: CatalogBlock[] }[] {
  const blocks = catalog?.blocks ?? [];
  const order: string[] = [...new Set(catalog?.categories ?? [])];
  for (const b of blocks) {
    if (!order.includes(b.category)) {
      order.push(b.category);
    }
  }
  return order
    .map(category => ({ category, blocks: blocks.filter(b => b.category === category) }))
    .filter(g => g.blocks.length > 0);
}

/** A block's title in the interface's language (its English title when the catalogue has no other). */
export function blockTitle(block: Pick<CatalogBlock, 'title' | 'titles'> | undefined | null, lang: Lang): string {
  return block ? block.titles?.[lang] || block.title : '';
}

/** A palette category's name in the interface's language. */
export function categoryTitle(catalog: Catalog | null, category: string, lang: Lang): string {
  return catalog?.category_titles?.[category]?.[lang] || category;
}

/** Template rows grouped by family, in the order Python sent them. */
export function templateFamilies(rows: TemplateRow[]): { name: string; family: string; rows: TemplateRow[] }[] {
  const out: { name: string; family: string; rows: TemplateRow[] }[] = [];
  for (const r of rows) {
    let f = out.find(x => x.name === r.name);
    if (!f) {
      f = { name: r.name, family: r.family || r.name, rows: [] };
      out.push(f);
    }
    f.rows.push(r);
  }
  return out;
}
