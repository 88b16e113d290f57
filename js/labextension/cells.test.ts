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
  it('is nbformat 4 with the canvas cell', () => {
    const nb = starterNotebook() as { nbformat: number; cells: { cell_type: string; source: string }[] };
    expect(nb.nbformat).toBe(4);
    const sources = nb.cells.map(c => c.source);
    expect(sources).toContain('import slamdunk_lab as sd');
    expect(sources.some(s => s.includes('sd.Canvas(template="gpt2", size="tiny")'))).toBe(true);
  });
});
