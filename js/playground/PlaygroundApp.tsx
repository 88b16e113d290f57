/** Playground view: prompt, sampling settings, streamed continuation. */
import React, { useCallback, useEffect, useState } from 'react';

import type { AnyModel } from '../shared/anywidget';
import { useModelValue } from '../shared/model';
import { fieldSpec } from '../shared/schema';
import { Button, SchemaField } from '../shared/ui';

export interface PlaygroundModel {
  _view: string;
  title: string;
  prompt: string;
  output: string;
  settings: Record<string, unknown>;
  running: boolean;
  error: string;
}

/** Sampling settings form (JSON Schema, rendered by the shared SchemaField). */
export const SETTINGS_SCHEMA = {
  max_new_tokens: { type: 'integer', minimum: 1, maximum: 4096, title: 'Max new tokens' },
  temperature: { type: 'number', minimum: 0, maximum: 5, title: 'Temperature', description: '0 = greedy' },
  top_k: {
    anyOf: [{ type: 'integer', minimum: 1 }, { type: 'null' }],
    title: 'Top-k',
    description: 'empty = no top-k filtering'
  }
} as const;

const FIELDS = Object.entries(SETTINGS_SCHEMA).map(([k, v]) => fieldSpec(k, v as never));

export function PlaygroundApp({ model }: { model: AnyModel<PlaygroundModel> }) {
  const title = useModelValue(model, 'title');
  const prompt = useModelValue(model, 'prompt');
  const output = useModelValue(model, 'output');
  const settings = useModelValue(model, 'settings') ?? {};
  const running = useModelValue(model, 'running');
  const error = useModelValue(model, 'error');
  const [draft, setDraft] = useState(prompt);
  useEffect(() => setDraft(prompt), [prompt]);

  const commitPrompt = useCallback(() => {
    if (draft !== model.get('prompt')) {
      model.set('prompt', draft);
      model.save_changes();
    }
  }, [draft, model]);
  const generate = useCallback(() => {
    commitPrompt();
    model.send({ type: 'generate', prompt: draft });
  }, [commitPrompt, draft, model]);
  const onSetting = useCallback(
    (name: string, value: unknown) => {
      model.set('settings', { ...model.get('settings'), [name]: value });
      model.save_changes();
    },
    [model]
  );

  return (
    <div className="sdl-playground" data-running={String(running)}>
      <header className="sdl-playground-header">
        <span className="sdl-playground-title">{title}</span>
      </header>
      <div className="sdl-playground-body">
        <div className="sdl-playground-main">
          <textarea
            className="sdl-input sdl-prompt"
            value={draft}
            placeholder="Type a prompt…"
            rows={3}
            onChange={e => setDraft(e.target.value)}
            onBlur={commitPrompt}
            onKeyDown={e => {
              if (e.key === 'Enter' && (e.ctrlKey || e.metaKey || e.shiftKey)) {
                e.preventDefault();
                if (!running) {
                  generate();
                }
              }
            }}
          />
          <div className="sdl-playground-actions">
            <Button variant="primary" disabled={running} onClick={generate} data-action="generate">
              Generate
            </Button>
            <Button disabled={!running} onClick={() => model.send({ type: 'stop' })} data-action="stop">
              Stop
            </Button>
            <span className="sdl-muted">Ctrl/Shift+Enter to generate</span>
          </div>
          <pre className="sdl-output" aria-live="polite">
            <span className="sdl-output-prompt">{prompt}</span>
            <span className="sdl-output-text">{output}</span>
            {running && <span className="sdl-cursor">▍</span>}
          </pre>
          {error && (
            <div className="sdl-field-error" role="alert">
              {error}
            </div>
          )}
        </div>
        <div className="sdl-playground-settings">
          {FIELDS.map(f => (
            <SchemaField
              key={f.name}
              idPrefix="sdl-pg"
              field={f}
              value={settings[f.name]}
              errors={[]}
              onCommit={onSetting}
            />
          ))}
        </div>
      </div>
    </div>
  );
}
