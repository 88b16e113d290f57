import { describe, expect, it } from 'vitest';

import { ANCHOR_ATTRIBUTE, findCellIndex, resolveAnchor } from './cells';
import { starterNotebook } from './starter';

function fakeNode(children: unknown[] = []) {
  const node = {
    contains: (el: unknown): boolean =>
      el === node || children.some(c => (c as { contains(e: unknown): boolean }).contains(el))
  };
  return node;
}

describe('cell lookup', () => {
  it('finds the cell holding an element', () => {
    const widget = fakeNode();
    const cells = [{ node: fakeNode() }, { node: fakeNode([widget]) }, { node: fakeNode() }];
    expect(findCellIndex(cells as never, widget as never)).toBe(1);
    expect(findCellIndex(cells as never, fakeNode() as never)).toBe(-1);
    expect(findCellIndex(cells as never, null)).toBe(-1);
  });

  it('resolves string anchors by attribute', () => {
    const seen: string[] = [];
    const root = {
      querySelector: (sel: string) => {
        seen.push(sel);
        return 'EL';
      }
    };
    expect(resolveAnchor('abc"d', root as never)).toBe('EL');
    expect(seen[0]).toBe(`[${ANCHOR_ATTRIBUTE}="abc\\"d"]`);
    expect(resolveAnchor(null, root as never)).toBeNull();
  });
});

describe('starter notebook', () => {
  it('is the example notebook: canvas, train, generate, without outputs', () => {
    const nb = starterNotebook() as {
      nbformat: number;
      cells: { cell_type: string; source: string; outputs?: unknown[] }[];
    };
    expect(nb.nbformat).toBe(4);
    const sources = nb.cells.map(c => c.source).join('\n');
    for (const call of ['import slamdunk_lab as sd', 'sd.Canvas(', 'sd.train(', 'sd.Playground(']) {
      expect(sources).toContain(call);
    }
    expect(nb.cells.filter(c => c.cell_type === 'code').every(c => c.outputs?.length === 0)).toBe(true);
  });
});
