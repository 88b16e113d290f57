import { describe, expect, it } from 'vitest';

import { formatBytes, formatCount, formatShape } from './format';

describe('format', () => {
  it('counts', () => {
    expect(formatCount(858880)).toBe('859K');
    expect(formatCount(2169600)).toBe('2.17M');
    expect(formatCount(12)).toBe('12');
    expect(formatCount(undefined)).toBe('–');
  });
  it('bytes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(3435520)).toBe('3.3 MiB');
    expect(formatBytes(null)).toBe('–');
  });
  it('shapes', () => {
    expect(formatShape(['B', 'T', 128])).toBe('B × T × 128');
    expect(formatShape(undefined)).toBe('');
  });
});
