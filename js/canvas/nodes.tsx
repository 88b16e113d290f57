/** Custom React Flow node types of the canvas (registered at module scope). */
import { Handle, NodeProps, NodeTypes, Position } from '@xyflow/react';
import React, { memo } from 'react';

import { formatCount, formatShape } from '../shared/format';
import { Blocks, FlowNode, handlesFor, isGroup } from './graph';
import { t } from '../shared/i18n';
import { issueLines, useNodeIssues } from './selectors';
import { useCanvas } from './store';
import { blockTitle } from './types';

/** The lock of a guided exercise's block (React Flow marks it not deletable). */
export function LockBadge({ locked }: { locked: boolean }) {
  const lang = useCanvas(s => s.language);
  if (!locked) {
    return null;
  }
  return (
    <span className="sdl-node-lock" role="img" aria-label={t(lang, 'lockedBlock')} title={t(lang, 'lockedBlock')}>
      <svg width="10" height="12" viewBox="0 0 10 12" aria-hidden="true">
        <path d="M2.5 5V3.5a2.5 2.5 0 0 1 5 0V5" fill="none" stroke="currentColor" strokeWidth="1.4" />
        <rect x="0.5" y="5" width="9" height="6.5" rx="1.2" fill="currentColor" />
      </svg>
    </span>
  );
}

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

/**
 * A block's problems as a small badge ("⚠ 2") that never changes the block's
 * size; the full text shows on hover (and in the inspector and the header).
 */
export function ProblemBadge({ text }: { text: string }) {
  if (!text) {
    return null;
  }
  const n = text.split('\n').length;
  return (
    <span className="sdl-node-badge" role="img" aria-label={`${n} problem${n === 1 ? '' : 's'}: ${text}`} title={text}>
      ⚠{n > 1 ? ` ${n}` : ''}
    </span>
  );
}

const BlockNodeImpl = ({ id, type, data, selected, deletable }: NodeProps<FlowNode>) => {
  const block = useCanvas(s => s.blocks[type]);
  const lang = useCanvas(s => s.language);
  const shape = useCanvas(s => formatShape(s.analysis?.nodes[id]?.shape));
  const params = useCanvas(s => s.analysis?.nodes[id]?.params);
  const errors = issueLines(useNodeIssues(id), lang).join('\n');
  const { inputs, outputs } = handlesFor(type, useCanvas(s => s.blocks));
  const inX = handleOffsets(inputs.length);
  const outX = handleOffsets(outputs.length);
  const text = summary(data);
  return (
    <div
      className={`sdl-node sdl-node-${type}${errors ? ' sdl-node-error' : ''}${
        selected ? ' sdl-node-selected' : ''
      }${deletable === false ? ' sdl-node-locked' : ''}`}
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
      <div className="sdl-node-title">{blockTitle(block, lang) || type}</div>
      <LockBadge locked={deletable === false} />
      {text && <div className="sdl-node-summary">{text}</div>}
      {(shape || params !== undefined) && (
        <div className="sdl-node-meta">
          {shape && <span className="sdl-node-shape">{shape}</span>}
          {params !== undefined && params > 0 && (
            <span className="sdl-node-params">
              {formatCount(params)} {t(lang, 'params')}
            </span>
          )}
        </div>
      )}
      <ProblemBadge text={errors} />
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

const GroupNodeImpl = ({ id, type, data, selected, deletable }: NodeProps<FlowNode>) => {
  const block = useCanvas(s => s.blocks[type]);
  const lang = useCanvas(s => s.language);
  const errors = issueLines(useNodeIssues(id), lang).join('\n');
  const params = useCanvas(s => s.analysis?.nodes[id]?.params);
  const d = data as { repeat?: number; share_weights?: boolean };
  const inputs = block?.inputs ?? [];
  const outputs = block?.outputs ?? [];
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
        <span className="sdl-group-title">{blockTitle(block, lang) || type}</span>
        <LockBadge locked={deletable === false} />
        <span className="sdl-group-repeat" title={t(lang, 'repeatTitle')}>
          × {d.repeat ?? 1}
        </span>
        {d.share_weights ? <span className="sdl-badge">{t(lang, 'sharedWeights')}</span> : null}
        {params !== undefined && params > 0 && (
          <span className="sdl-node-params">
              {formatCount(params)} {t(lang, 'params')}
            </span>
        )}
        <ProblemBadge text={errors} />
      </div>
      {outputs.map(h => (
        <Handle key={`out-${h}`} id={h} type="source" position={Position.Bottom} className="sdl-handle" />
      ))}
    </div>
  );
};

export const GroupNode = memo(GroupNodeImpl);

/** React Flow node types of a catalogue: its groups draw as GroupNode, every other block as BlockNode. */
const typesOf = new WeakMap<Blocks, NodeTypes>();

/** The same object for the same catalogue, as React Flow wants (a new object re-mounts every node). */
export function nodeTypesFor(blocks: Blocks): NodeTypes {
  let types = typesOf.get(blocks);
  if (!types) {
    types = Object.fromEntries(Object.keys(blocks).map(t => [t, isGroup(blocks, t) ? GroupNode : BlockNode]));
    typesOf.set(blocks, types);
  }
  return types;
}
