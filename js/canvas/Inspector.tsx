/** Inspector: a form for the selected node's data, generated from its JSON Schema. */
import React, { memo, useMemo } from 'react';

import { schemaFields } from '../shared/schema';
import { Panel, SchemaField } from '../shared/ui';
import type { GraphNode } from './graph';
import { useNodeIssues } from './selectors';
import { useCanvas } from './store';

export const Inspector = memo(function Inspector({
  node,
  onCommit
}: {
  node: GraphNode | null;
  onCommit: (nodeId: string, name: string, value: unknown) => void;
}) {
  const block = useCanvas(s => (node ? s.blocks[node.type] : undefined));
  const errors = useNodeIssues(node?.id);
  const language = useCanvas(s => s.language);
  const fields = useMemo(() => schemaFields(block?.schema), [block]);
  if (!node) {
    return (
      <Panel title="Inspector" className="sdl-inspector">
        <p className="sdl-muted">Select a block to edit its settings.</p>
      </Panel>
    );
  }
  const commit = (name: string, value: unknown) => onCommit(node.id, name, value);
  const known = new Set(fields.map(f => f.name));
  const general = errors.filter(e => !e.field || !known.has(e.field));
  return (
    <Panel title={`${block?.title ?? node.type} · ${node.id}`} className="sdl-inspector">
      {general.map((e, i) => (
        <div key={i} className="sdl-field-error" role="alert">
          {e.field ? `${e.field}: ` : ''}
          {e.message}
        </div>
      ))}
      {!block && (
        <p className="sdl-muted">No schema for “{node.type}” (block catalogue unavailable).</p>
      )}
      {fields.map(f => (
        <SchemaField
          key={`${node.id}:${f.name}`}
          idPrefix={`sdl-${node.id}`}
          field={f}
          value={node.data[f.name] !== undefined ? node.data[f.name] : f.default}
          errors={errors.filter(e => e.field === f.name).map(e => e.message)}
          onCommit={commit}
          language={language}
        />
      ))}
    </Panel>
  );
});
