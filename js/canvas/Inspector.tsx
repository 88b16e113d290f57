/** Inspector: a form for the selected node's data, generated from its JSON Schema. */
import React, { memo, useMemo } from 'react';

import { schemaFields } from '../shared/schema';
import { Lang, t } from '../shared/i18n';
import { Panel, SchemaField } from '../shared/ui';
import type { GraphNode } from './graph';
import { LockBadge } from './nodes';
import { issueText, useNodeIssues } from './selectors';
import { useCanvas } from './store';
import { blockTitle } from './types';

/** The setting that can follow the tokenizer (`canvas.set_vocab(tok)`). */
const VOCAB_FIELD = 'vocab_size';

/** "from tokenizer (65)": sets the vocabulary size to the tokenizer's; says so when it already is. */
function FromTokenizer({
  vocab,
  current,
  onChoose,
  lang
}: {
  vocab: number;
  current: unknown;
  onChoose: () => void;
  lang: Lang;
}) {
  if (current === vocab) {
    return <div className="sdl-from-tokenizer sdl-muted">{t(lang, 'isTokenizerVocab', { n: vocab })}</div>;
  }
  return (
    <button type="button" className="sdl-from-tokenizer sdl-button sdl-button-plain" onClick={onChoose} data-action="vocab-from-tokenizer">
      {t(lang, 'fromTokenizer', { n: vocab })}
    </button>
  );
}

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
  const vocab = useCanvas(s => s.tokenizerVocab);
  const fields = useMemo(() => schemaFields(block?.schema), [block]);
  if (!node) {
    return (
      <Panel title={t(language, 'inspector')} className="sdl-inspector">
        <p className="sdl-muted">{t(language, 'selectBlock')}</p>
      </Panel>
    );
  }
  const locked = Boolean(node.locked);
  const commit = (name: string, value: unknown) => {
    if (!locked) {
      onCommit(node.id, name, value);
    }
  };
  const known = new Set(fields.map(f => f.name));
  const general = errors.filter(e => !e.field || !known.has(e.field));
  return (
    <Panel title={`${blockTitle(block, language) || node.type} · ${node.id}`} className="sdl-inspector">
      {general.map((e, i) => (
        <div key={i} className="sdl-field-error" role="alert">
          {e.field ? `${e.field}: ` : ''}
          {issueText(e, language)}
        </div>
      ))}
      {!block && (
        <p className="sdl-muted">{t(language, 'noSchema', { type: node.type })}</p>
      )}
      {locked && (
        <p className="sdl-locked-note" data-locked="true">
          <LockBadge locked /> {t(language, 'lockedNote')}
        </p>
      )}
      <fieldset className="sdl-fields" disabled={locked}>
      {fields.map(f => {
        const value = node.data[f.name] !== undefined ? node.data[f.name] : f.default;
        return (
          <React.Fragment key={`${node.id}:${f.name}`}>
            <SchemaField
              idPrefix={`sdl-${node.id}`}
              field={f}
              value={value}
              errors={errors.filter(e => e.field === f.name).map(e => issueText(e, language))}
              onCommit={commit}
              language={language}
            />
            {f.name === VOCAB_FIELD && vocab !== null && (
              <FromTokenizer vocab={vocab} current={value} onChoose={() => commit(f.name, vocab)} lang={language} />
            )}
          </React.Fragment>
        );
      })}
      </fieldset>
    </Panel>
  );
});
