import { describe, expect, it } from 'vitest';

import { extentOf, linearScale, niceTicks, pathFor, seriesFrom, thin } from './chart';

describe('chart helpers', () => {
  const history = [
    { step: 0, loss: 4, val_loss: null },
    { step: 1, loss: 3 },
    { step: 2, loss: 2.5, val_loss: 3.1 },
    { step: 'x', loss: 1 }
  ];

  it('splits history into series', () => {
    const s = seriesFrom(history);
    expect(s.map(x => x.name)).toEqual(['loss', 'val_loss']);
    expect(s[0].points).toEqual([
      { x: 0, y: 4 },
      { x: 1, y: 3 },
      { x: 2, y: 2.5 }
    ]);
    expect(s[1].last).toBe(3.1);
  });

  it('computes extents and nice ticks', () => {
    expect(extentOf(seriesFrom(history))).toEqual({ x: [0, 2], y: [2.5, 4] });
    expect(extentOf([])).toBeNull();
    expect(niceTicks(2.5, 4, 4)).toEqual([2.5, 3, 3.5, 4]);
    expect(niceTicks(0, 1000, 5)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(niceTicks(5, 5, 4).length).toBeGreaterThan(1);
  });

  it('draws paths and thins long series', () => {
    const sx = linearScale([0, 2], [0, 100]);
    const sy = linearScale([0, 4], [100, 0]);
    expect(pathFor([{ x: 0, y: 4 }, { x: 2, y: 0 }], sx, sy)).toBe('M0.0,0.0L100.0,100.0');
    expect(pathFor([{ x: 0, y: 0 }, { x: 1, y: 1 }, { x: 2, y: 2 }], sx, sy, true)).toBe('M50.0,75.0L100.0,50.0');
    const pts = Array.from({ length: 5000 }, (_, i) => ({ x: i, y: i }));
    const t = thin(pts, 1000);
    expect(t.length).toBeLessThanOrEqual(1001);
    expect(t[t.length - 1]).toEqual({ x: 4999, y: 4999 });
  });
});

describe('secondary series', () => {
  it('splits the learning rate from the losses', () => {
    const h = [
      { step: 1, loss: 4, lr: 1e-4 },
      { step: 2, loss: 3, lr: 2e-4 },
      { step: 2, val_loss: 3.5 }
    ];
    expect(seriesFrom(h, { skip: ['lr'] }).map(s => s.name)).toEqual(['loss', 'val_loss']);
    const lr = seriesFrom(h, { only: ['lr'] });
    expect(lr.map(s => s.name)).toEqual(['lr']);
    expect(lr[0].points).toEqual([{ x: 1, y: 1e-4 }, { x: 2, y: 2e-4 }]);
    expect(extentOf(lr)).toEqual({ x: [1, 2], y: [1e-4, 2e-4] });
  });
});
