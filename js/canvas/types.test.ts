import { describe, expect, it } from 'vitest';

import { graphIssues, issueLines, nodeIssues, sameIssues } from './selectors';
import { createCanvasStore } from './store';
import { analysis as full, block, catalogWith } from '../shared/testing/catalog';
import { groupByCategory } from './types';


describe('catalogue and analysis helpers', () => {
  it('groups blocks by category in catalogue order', () => {
    const groups = groupByCategory(
      catalogWith([block('a', { category: 'embedding' }), block('b', { category: 'norm' }), block('c', { category: 'other' })], [
        'norm',
        'embedding',
        'empty'
      ])
    );
    expect(groups.map(g => g.category)).toEqual(['norm', 'embedding', 'other']);
  });

  it('selects issues', () => {
    const analysis = full({
      errors: [
        { node_id: 'a', field: 'x', message: 'bad x', message_ko: null },
        { node_id: 'a', field: null, message: 'bad a', message_ko: null },
        { node_id: null, field: null, message: 'no logits', message_ko: null }
      ]
    });
    const s = createCanvasStore({ analysis }).getState();
    expect(nodeIssues(s, 'a')).toHaveLength(2);
    expect(issueLines(nodeIssues(s, 'a'))).toEqual(['x: bad x', 'bad a']);
    expect(nodeIssues(s, 'b')).toBe(nodeIssues(s, 'c')); // no problems: one shared empty list
    expect(graphIssues(s)).toEqual([{ node_id: null, field: null, message: 'no logits', message_ko: null }]);
    // a new analysis with the same problems is "the same" (no re-render)
    const again = createCanvasStore({ analysis: JSON.parse(JSON.stringify(analysis)) }).getState();
    expect(sameIssues(nodeIssues(s, 'a'), nodeIssues(again, 'a'))).toBe(true);
    expect(sameIssues(nodeIssues(s, 'a'), graphIssues(s))).toBe(false);
  });
});
