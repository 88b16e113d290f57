/** A small design (block types from the real catalogue) for the editor's hook tests: tokens → emb → [block: norm → attn → add] → head → logits. */
import type { Graph } from '../graph';

export function design(): Graph {
  return {
    version: 1,
    viewport: { x: 0, y: 0, zoom: 1 },
    nodes: [
      { id: 'tokens', type: 'tokens', position: { x: 40, y: 0 }, data: { context: 64 } },
      { id: 'emb', type: 'tokenEmbedding', position: { x: 40, y: 100 }, data: { d_model: 64 } },
      { id: 'block', type: 'transformerBlock', position: { x: 0, y: 200 }, data: { repeat: 2 } },
      { id: 'norm', type: 'rmsNorm', position: { x: 40, y: 50 }, data: {}, parentId: 'block' },
      { id: 'attn', type: 'attention', position: { x: 40, y: 150 }, data: { n_heads: 4 }, parentId: 'block' },
      { id: 'add', type: 'add', position: { x: 40, y: 250 }, data: {}, parentId: 'block' },
      { id: 'head', type: 'lmHead', position: { x: 40, y: 600 }, data: {} },
      { id: 'logits', type: 'logits', position: { x: 40, y: 700 }, data: {} }
    ],
    edges: [
      { id: 'e1', source: 'tokens', target: 'emb', sourceHandle: 'out', targetHandle: 'in' },
      { id: 'e2', source: 'emb', target: 'norm', sourceHandle: 'out', targetHandle: 'in' },
      { id: 'e3', source: 'norm', target: 'attn', sourceHandle: 'out', targetHandle: 'in' },
      { id: 'e4', source: 'emb', target: 'add', sourceHandle: 'out', targetHandle: 'a' },
      { id: 'e5', source: 'attn', target: 'add', sourceHandle: 'out', targetHandle: 'b' },
      { id: 'e6', source: 'add', target: 'head', sourceHandle: 'out', targetHandle: 'in' },
      { id: 'e7', source: 'head', target: 'logits', sourceHandle: 'out', targetHandle: 'in' }
    ]
  };
}

/** The real catalogue by block type. */
export { BLOCKS } from '../../shared/testing/catalog';
