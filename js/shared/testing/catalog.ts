/** The real block catalogue (`sd.catalog()`, written by `python -m slamdunk_lab.widgets.contract`), for tests. */
import type { AnalysisResult, Catalog, CatalogBlock, NodeAnalysis } from '../contract';
import raw from './catalog.json';

export const CATALOG = raw as unknown as Catalog;

/** The catalogue by block type. */
export const BLOCKS: Record<string, CatalogBlock> = Object.fromEntries(CATALOG.blocks.map(b => [b.type, b]));

/** A catalogue entry: the real one of `type` when there is one, else a plain op block; `over` replaces fields. */
export function block(type: string, over: Partial<CatalogBlock> = {}): CatalogBlock {
  const base: CatalogBlock = BLOCKS[type] ?? {
    type,
    title: type,
    category: 'other',
    inputs: ['in'],
    outputs: ['out'],
    is_group: false,
    role: 'op',
    reads: 'activations',
    emits: 'activations',
    feeds_logits: false,
    color: '#6b7280',
    defaults: {},
    schema: {},
    docs: {}
  };
  return { ...base, ...over };
}

/** A catalogue of `blocks` (categories in first-seen order unless given). */
export function catalogWith(blocks: CatalogBlock[], categories?: string[]): Catalog {
  return {
    ...CATALOG,
    blocks,
    categories: categories ?? [...new Set(blocks.map(b => b.category))]
  };
}

/** An analysis result with every field; `over` replaces some. */
export function analysis(over: Partial<AnalysisResult> = {}): AnalysisResult {
  return {
    ok: true,
    params: 0,
    flops_per_token: 0,
    train_flops_per_token: 0,
    memory: {},
    n_layers: 0,
    batch_size: 1,
    context: 0,
    dtype: 'float32',
    nodes: {},
    errors: [],
    warnings: [],
    ...over
  };
}

/** The analysis of one node; `over` replaces some fields. */
export function nodeAnalysis(id: string, type: string, over: Partial<NodeAnalysis> = {}): NodeAnalysis {
  return { id, type, shape: null, params: 0, params_each: 0, flops: 0, repeat: 1, parent: null, ...over };
}
