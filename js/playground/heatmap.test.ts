import { describe, expect, it } from 'vitest';

import { cellAt, headMap, heatmapLayout, isAttentionData, showToken } from './heatmap';

describe('playground helpers', () => {
  it('shows tokens readably', () => {
    expect(showToken(' the')).toBe('␣the');
    expect(showToken('\n')).toBe('⏎');
    expect(showToken('')).toBe('∅');
    expect(showToken('abcdefghijkl', 5)).toBe('abcd…');
  });

  it('picks one head of one layer, clamped', () => {
    const a = {
      tokens: ['a', 'b'],
      layer_names: ['blocks.0.attn', 'blocks.1.attn'],
      offset: 0,
      weights: [
        [[[1, 0], [0.5, 0.5]], [[1, 0], [0.9, 0.1]]],
        [[[1, 0], [0.2, 0.8]], [[1, 0], [0.3, 0.7]]]
      ]
    };
    expect(isAttentionData(a)).toBe(true);
    expect(isAttentionData({})).toBe(false);
    expect(headMap(a, 1, 0)![1]).toEqual([0.2, 0.8]);
    expect(headMap(a, 9, 9)![1]).toEqual([0.3, 0.7]);
  });

  it('lays out cells and finds the cell under the mouse', () => {
    const lay = heatmapLayout(10, 420, 56);
    expect(lay.cell).toBe(28);
    expect(heatmapLayout(200).cell).toBe(6);
    expect(cellAt(lay, 10, 56 + 28 * 3 + 1, 56 + 28 * 2 + 1)).toEqual({ i: 2, j: 3 });
    expect(cellAt(lay, 10, 10, 10)).toBeNull();
    expect(cellAt(lay, 10, 56 + 28 * 10 + 1, 60)).toBeNull();
  });
});
