/** Custom React Flow node types of the canvas (registered at module scope). */
import { Handle, NodeProps, NodeTypes, Position } from '@xyflow/react';
import React, { memo } from 'react';

import { formatCount, formatShape } from '../shared/format';
import { DEFAULT_HANDLES, FlowNode, GROUP_TYPE, handlesFor } from './graph';
import { issueLines, useNodeIssues } from './selectors';
import { useCanvas } from './store';

/** Up to two "key=value" pairs summarising a block's data. */
function summary(data: Record<string, unknown>): string {
  return Object.entries(data)
    .filter(([, v]) => v !== null && typeof v !== 'object')
    .slice(0, 2)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' · ');
}

function handleOffsets(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${((i + 1) * 100) / (n + 1)}%`);
}

const BlockNodeImpl = ({ id, type, data, selected }: NodeProps<FlowNode>) => {
  const block = useCanvas(s => s.blocks[type]);
  const shape = useCanvas(s => formatShape(s.analysis.nodes?.[id]?.shape));
  const params = useCanvas(s => s.analysis.nodes?.[id]?.params);
  const errors = issueLines(useNodeIssues(id)).join('\n');
  const { inputs, outputs } = handlesFor(type, block);
  const inX = handleOffsets(inputs.length);
  const outX = handleOffsets(outputs.length);
  const text = summary(data);
  return (
    <div
      className={`sdl-node sdl-node-${type}${errors ? ' sdl-node-error' : ''}${
        selected ? ' sdl-node-selected' : ''
      }`}
      data-node-id={id}
      title={errors || undefined}
      style={block?.color && !errors ? { borderLeftColor: block.color } : undefined}
    >
      {inputs.map((h, i) => (
        <Handle
          key={`in-${h}`}
          id={h}
          type="target"
          position={Position.Top}
          style={{ left: inX[i] }}
          className="sdl-handle"
          title={h}
        />
      ))}
      <div className="sdl-node-title">{block?.title ?? type}</div>
      {text && <div className="sdl-node-summary">{text}</div>}
      {(shape || params !== undefined) && (
        <div className="sdl-node-meta">
          {shape && <span className="sdl-node-shape">{shape}</span>}
          {params !== undefined && params > 0 && (
            <span className="sdl-node-params">{formatCount(params)} params</span>
          )}
        </div>
      )}
      {errors && (
        <div className="sdl-node-errors" role="alert">
          ⚠ {errors.split('\n')[0]}
          {errors.includes('\n') ? ' …' : ''}
        </div>
      )}
      {outputs.map((h, i) => (
        <Handle
          key={`out-${h}`}
          id={h}
          type="source"
          position={Position.Bottom}
          style={{ left: outX[i] }}
          className="sdl-handle"
          title={h}
        />
      ))}
    </div>
  );
};

export const BlockNode = memo(BlockNodeImpl);

const GroupNodeImpl = ({ id, type, data, selected }: NodeProps<FlowNode>) => {
  const block = useCanvas(s => s.blocks[type]);
  const errors = issueLines(useNodeIssues(id)).join('\n');
  const params = useCanvas(s => s.analysis.nodes?.[id]?.params);
  const d = data as { repeat?: number; share_weights?: boolean };
  const { inputs, outputs } = handlesFor(type, block ?? DEFAULT_HANDLES[GROUP_TYPE]);
  return (
    <div
      className={`sdl-group-box${errors ? ' sdl-node-error' : ''}${selected ? ' sdl-node-selected' : ''}`}
      data-node-id={id}
      title={errors || undefined}
    >
      {inputs.map(h => (
        <Handle key={`in-${h}`} id={h} type="target" position={Position.Top} className="sdl-handle" />
      ))}
      <div className="sdl-group-header">
        <span className="sdl-group-title">{block?.title ?? 'Transformer block'}</span>
        <span className="sdl-group-repeat" title="repeat">
          × {d.repeat ?? 1}
        </span>
        {d.share_weights ? <span className="sdl-badge">shared weights</span> : null}
        {params !== undefined && params > 0 && (
          <span className="sdl-node-params">{formatCount(params)} params</span>
        )}
      </div>
      {errors && (
        <div className="sdl-node-errors" role="alert">
          ⚠ {errors.split('\n')[0]}
        </div>
      )}
      {outputs.map(h => (
        <Handle key={`out-${h}`} id={h} type="source" position={Position.Bottom} className="sdl-handle" />
      ))}
    </div>
  );
};

export const GroupNode = memo(GroupNodeImpl);

/** Every block type of graph format v1 (never React Flow's input/output/default/group). */
export const BLOCK_TYPES = [
  'tokens',
  'tokenEmbedding',
  'positionalEmbedding',
  'attention',
  'feedForward',
  'layerNorm',
  'rmsNorm',
  'add',
  'dropout',
  'linear',
  'lmHead',
  'logits'
] as const;

export const nodeTypes: NodeTypes = {
  ...Object.fromEntries(BLOCK_TYPES.map(t => [t, BlockNode])),
  [GROUP_TYPE]: GroupNode
};

/** Node types for a catalogue that may add block types beyond format v1's list. */
export function nodeTypesFor(types: readonly string[], groupTypes: readonly string[]): NodeTypes {
  const extra = types.filter(t => !(t in nodeTypes));
  if (extra.length === 0) {
    return nodeTypes;
  }
  return {
    ...nodeTypes,
    ...Object.fromEntries(extra.map(t => [t, groupTypes.includes(t) ? GroupNode : BlockNode]))
  };
}
