/**
 * Playground view: prompt, sampling settings, streamed continuation, and a
 * look inside the model for the prompt: next-token probability bars and an
 * attention heatmap per layer and head (both computed in Python).
 */
import React, { memo, useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';

import type { AnyModel } from '../shared/anywidget';
import { GENERATION_SETTINGS_SCHEMA, PlaygroundState, PlaygroundToPython, ProbRow } from '../shared/contract';
import { Lang, t, useLanguage } from '../shared/i18n';
import { useModelValue } from '../shared/model';
import { schemaFields } from '../shared/schema';
import { Button, SchemaField } from '../shared/ui';
import { usePromptDraft } from './draft';
import { AttentionData, cellAt, headMap, heatmapLayout, isAttentionData, showToken } from './heatmap';

/** The sampling settings form, generated from Python's `GenerationSettings` (bounds, defaults, help). */
const FIELDS = schemaFields(GENERATION_SETTINGS_SCHEMA);

export type { PlaygroundState as PlaygroundModel };

/** Pause in typing after which the prompt goes to Python (probabilities and attention refresh). */
const PROMPT_DEBOUNCE_MS = 300;

const ProbBars = memo(function ProbBars({ probs, stale }: { probs: ProbRow[]; stale: boolean }) {
  const top = probs.length ? probs[0].prob : 1;
  return (
    <ol className={`sdl-probs${stale ? ' sdl-stale' : ''}`} aria-label="next-token probabilities">
      {probs.map(p => (
        <li key={p.id} className="sdl-prob" data-token-id={p.id}>
          <span className="sdl-prob-token" title={JSON.stringify(p.token)}>
            {showToken(p.token, 10)}
          </span>
          <span className="sdl-prob-track">
            <span className="sdl-prob-bar" style={{ width: `${Math.max(1, (100 * p.prob) / Math.max(top, 1e-9))}%` }} />
          </span>
          <span className="sdl-prob-value">{(100 * p.prob).toFixed(1)}%</span>
        </li>
      ))}
    </ol>
  );
});

function cssVar(el: Element, name: string, fallback: string): string {
  return getComputedStyle(el).getPropertyValue(name).trim() || fallback;
}

const Heatmap = memo(function Heatmap({ data, lang }: { data: AttentionData; lang: Lang }) {
  const [layer, setLayer] = useState(0);
  const [head, setHead] = useState(0);
  const [hover, setHover] = useState<{ i: number; j: number } | null>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const layers = data.weights.length;
  const heads = data.weights[Math.min(layer, layers - 1)]?.length ?? 0;
  const map = headMap(data, layer, head);
  const n = data.tokens.length;
  const lay = heatmapLayout(n);

  useLayoutEffect(() => {
    const el = canvas.current;
    const ctx = el?.getContext('2d');
    if (!el || !ctx || !map) {
      return;
    }
    const dpr = window.devicePixelRatio || 1;
    el.width = lay.width * dpr;
    el.height = lay.height * dpr;
    el.style.width = `${lay.width}px`;
    el.style.height = `${lay.height}px`;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const fg = cssVar(el, '--jp-ui-font-color1', '#222');
    const brand = cssVar(el, '--jp-brand-color1', '#1976d2');
    const empty = cssVar(el, '--jp-layout-color2', '#eee');
    ctx.clearRect(0, 0, lay.width, lay.height);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const w = map[i]?.[j] ?? 0;
        ctx.globalAlpha = 1;
        ctx.fillStyle = empty;
        ctx.fillRect(lay.left + j * lay.cell, lay.top + i * lay.cell, lay.cell - 1, lay.cell - 1);
        if (w > 0) {
          ctx.globalAlpha = Math.min(1, 0.08 + 0.92 * w);
          ctx.fillStyle = brand;
          ctx.fillRect(lay.left + j * lay.cell, lay.top + i * lay.cell, lay.cell - 1, lay.cell - 1);
        }
      }
    }
    ctx.globalAlpha = 1;
    ctx.fillStyle = fg;
    ctx.font = `${Math.min(12, Math.max(8, lay.cell - 4))}px ${cssVar(el, '--jp-code-font-family', 'monospace')}`;
    const step = lay.cell < 10 ? Math.ceil(10 / lay.cell) : 1;
    for (let k = 0; k < n; k += step) {
      const label = showToken(data.tokens[k], 6);
      ctx.textAlign = 'right';
      ctx.textBaseline = 'middle';
      ctx.fillText(label, lay.left - 4, lay.top + k * lay.cell + lay.cell / 2); // rows: queries
      ctx.save();
      ctx.translate(lay.left + k * lay.cell + lay.cell / 2, lay.top - 4);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = 'left';
      ctx.fillText(label, 0, 0); // columns: keys
      ctx.restore();
    }
  }, [map, n, lay.width, lay.height, lay.cell, lay.left, lay.top, data.tokens]);

  const onMove = (e: React.MouseEvent<HTMLCanvasElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    setHover(cellAt(lay, n, e.clientX - r.left, e.clientY - r.top));
  };
  return (
    <div className="sdl-heatmap">
      <div className="sdl-heatmap-controls">
        <label>
          {t(lang, 'layer')}{' '}
          <select
            className="nodrag nokey sdl-input"
            data-control="layer"
            value={Math.min(layer, layers - 1)}
            onChange={e => setLayer(Number(e.target.value))}
          >
            {data.weights.map((_, i) => (
              <option key={i} value={i}>
                {data.layer_names[i] ?? `layer ${i}`}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t(lang, 'head')}{' '}
          <select
            className="nodrag nokey sdl-input"
            data-control="head"
            value={Math.min(head, heads - 1)}
            onChange={e => setHead(Number(e.target.value))}
          >
            {Array.from({ length: heads }, (_, h) => (
              <option key={h} value={h}>
                {h}
              </option>
            ))}
          </select>
        </label>
        <span className="sdl-muted sdl-heatmap-hover">
          {hover && map
            ? `${showToken(data.tokens[hover.i])} → ${showToken(data.tokens[hover.j])}: ${(map[hover.i]?.[hover.j] ?? 0).toFixed(3)}`
            : t(lang, 'rowsAttend')}
        </span>
      </div>
      <canvas
        ref={canvas}
        className="sdl-heatmap-canvas"
        data-tokens={n}
        data-layer={layer}
        data-head={head}
        onMouseMove={onMove}
        onMouseLeave={() => setHover(null)}
      />
      {data.offset ? <div className="sdl-muted">{t(lang, 'lastTokens', { n })}</div> : null}
    </div>
  );
});

export function PlaygroundApp({ model }: { model: AnyModel<PlaygroundState> }) {
  const title = useModelValue(model, 'title');
  const prompt = useModelValue(model, 'prompt');
  const output = useModelValue(model, 'output');
  const settings = useModelValue(model, 'settings') ?? {};
  const running = useModelValue(model, 'running');
  const error = useModelValue(model, 'error');
  const canInspect = useModelValue(model, 'can_inspect');
  const probs = useModelValue(model, 'probs') ?? [];
  const probsPrompt = useModelValue(model, 'probs_prompt');
  const attention = useModelValue(model, 'attention');
  const inspectError = useModelValue(model, 'inspect_error');
  const lang = useLanguage(model);
  const sendPrompt = useCallback(
    (text: string) => {
      model.set('prompt', text);
      model.save_changes();
    },
    [model]
  );
  const { text: draft, type: typeDraft, commit: commitPrompt } = usePromptDraft(prompt, sendPrompt, PROMPT_DEBOUNCE_MS);

  const generate = useCallback(() => {
    commitPrompt();
    model.send({ type: 'generate', prompt: draft } satisfies PlaygroundToPython);
  }, [commitPrompt, draft, model]);
  const onSetting = useCallback(
    (name: string, value: unknown) => {
      model.set('settings', { ...model.get('settings'), [name]: value });
      model.save_changes();
    },
    [model]
  );

  return (
    <div className="sdl-playground" data-running={String(running)} lang={lang}>
      <header className="sdl-playground-header">
        <span className="sdl-playground-title">{title}</span>
      </header>
      <div className="sdl-playground-body">
        <div className="sdl-playground-main">
          <textarea
            className="nodrag nokey sdl-input sdl-prompt"
            value={draft}
            placeholder={t(lang, 'typePrompt')}
            rows={3}
            onChange={e => typeDraft(e.target.value)}
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
              {t(lang, 'generate')}
            </Button>
            <Button disabled={!running} onClick={() => model.send({ type: 'stop' } satisfies PlaygroundToPython)} data-action="stop">
              {t(lang, 'stop')}
            </Button>
            <span className="sdl-muted">{t(lang, 'generateHint')}</span>
          </div>
          <pre className="sdl-output" aria-live="polite">
            <span className="sdl-output-prompt">{prompt}</span>
            <span className="sdl-output-text">{output}</span>
            {running && <span className="sdl-cursor">▍</span>}
          </pre>
          {error && (
            <div className="sdl-field-error sdl-playground-error" role="alert">
              {error}
            </div>
          )}
          {canInspect && (
            <div className="sdl-inspect">
              <section className="sdl-inspect-probs">
                <div className="sdl-inspect-title">{t(lang, 'nextToken')}</div>
                {inspectError ? (
                  <div className="sdl-field-error" role="alert" data-inspect-error>
                    {inspectError}
                  </div>
                ) : probs.length ? (
                  <ProbBars probs={probs} stale={probsPrompt !== draft} />
                ) : (
                  <p className="sdl-muted">{t(lang, 'nextTokenHint')}</p>
                )}
              </section>
              <section className="sdl-inspect-attention">
                <div className="sdl-inspect-title">{t(lang, 'attention')}</div>
                {!inspectError && isAttentionData(attention) ? (
                  <Heatmap data={attention} lang={lang} />
                ) : (
                  <p className="sdl-muted">{t(lang, 'attentionHint')}</p>
                )}
              </section>
            </div>
          )}
        </div>
        <div className="sdl-playground-settings">
          {FIELDS.map(f => (
            <SchemaField
              key={f.name}
              idPrefix="sdl-pg"
              field={f}
              value={(settings as Record<string, unknown>)[f.name]}
              errors={[]}
              onCommit={onSetting}
            />
          ))}
        </div>
      </div>
    </div>
  );
}
