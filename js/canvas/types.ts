/** Shapes of the JSON the Python side sends (catalogue, analysis). */
import type { JSONSchema } from '../shared/schema';

export type Language = 'en' | 'ko';

export interface BlockDocs {
  summary?: string;
  formula?: string;
  shapes?: string;
  [key: string]: unknown;
}

export interface CatalogBlock {
  type: string;
  title: string;
  category: string;
  inputs: string[];
  outputs: string[];
  is_group: boolean;
  color?: string;
  defaults?: Record<string, unknown>;
  schema: JSONSchema;
  docs: Partial<Record<Language, BlockDocs>>;
}

export interface Catalog {
  version?: number;
  blocks?: CatalogBlock[];
  categories?: (string | { id?: string; name?: string; title?: string })[];
}

export interface AnalysisIssue {
  node_id: string | null;
  field: string | null;
  message: string;
}

export interface NodeAnalysis {
  shape?: (string | number)[];
  params?: number;
  [key: string]: unknown;
}

export interface Analysis {
  ok?: boolean;
  params?: number;
  flops_per_token?: number;
  memory?: Record<string, number>;
  nodes?: Record<string, NodeAnalysis>;
  errors?: AnalysisIssue[];
}

/** Catalogue blocks grouped by category, in the catalogue's category order. */
export function groupByCategory(catalog: Catalog): { category: string; blocks: CatalogBlock[] }[] {
  const blocks = catalog.blocks ?? [];
  const order: string[] = [];
  for (const c of catalog.categories ?? []) {
    const name = typeof c === 'string' ? c : c.id ?? c.name ?? c.title;
    if (name && !order.includes(name)) {
      order.push(name);
    }
  }
  for (const b of blocks) {
    if (!order.includes(b.category)) {
      order.push(b.category);
    }
  }
  return order
    .map(category => ({ category, blocks: blocks.filter(b => b.category === category) }))
    .filter(g => g.blocks.length > 0);
}

/** Display label of a category entry. */
export function categoryTitle(catalog: Catalog, id: string): string {
  for (const c of catalog.categories ?? []) {
    if (typeof c !== 'string' && (c.id === id || c.name === id)) {
      return c.title ?? c.name ?? id;
    }
  }
  return id;
}

/** One row of `sd.templates()` (the templates menu). */
export interface TemplateRow {
  name: string;
  family: string;
  size: string;
  params?: number;
  description?: string;
  default?: boolean;
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
