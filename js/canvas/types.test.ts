import { describe, expect, it } from 'vitest';

import { graphIssues, groupByCategory, issuesFor } from './types';

const block = (type: string, category: string) => ({
  type,
  title: type,
  category,
  inputs: ['in'],
  outputs: ['out'],
  is_group: false,
  schema: {},
  docs: {}
});

describe('catalogue and analysis helpers', () => {
  it('groups blocks by category in catalogue order', () => {
    const groups = groupByCategory({
      categories: ['norm', 'embedding', 'empty'],
      blocks: [block('a', 'embedding'), block('b', 'norm'), block('c', 'other')]
    });
    expect(groups.map(g => g.category)).toEqual(['norm', 'embedding', 'other']);
  });

  it('selects issues', () => {
    const analysis = {
      errors: [
        { node_id: 'a', field: 'x', message: 'bad x' },
        { node_id: 'a', field: null, message: 'bad a' },
        { node_id: null, field: null, message: 'no logits' }
      ]
    };
    expect(issuesFor(analysis, 'a')).toHaveLength(2);
    expect(issuesFor(analysis, 'a', 'x')).toEqual([{ node_id: 'a', field: 'x', message: 'bad x' }]);
    expect(graphIssues(analysis)).toEqual([{ node_id: null, field: null, message: 'no logits' }]);
  });
});
