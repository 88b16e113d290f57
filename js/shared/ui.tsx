/** Small UI pieces shared by the views (theme-aware via JupyterLab CSS variables). */
import React, { memo, useState } from 'react';

import { t } from './i18n';
import { FieldSpec, parseFieldInput } from './schema';

export function Button(
  props: React.ButtonHTMLAttributes<HTMLButtonElement> & { variant?: 'primary' | 'plain' }
) {
  const { variant = 'plain', className = '', ...rest } = props;
  return <button type="button" className={`sdl-button sdl-button-${variant} ${className}`} {...rest} />;
}

export function Panel({
  title,
  children,
  className = '',
  actions
}: {
  title: React.ReactNode;
  children: React.ReactNode;
  className?: string;
  actions?: React.ReactNode;
}) {
  return (
    <section className={`sdl-panel ${className}`}>
      <header className="sdl-panel-header">
        <span className="sdl-panel-title">{title}</span>
        {actions}
      </header>
      <div className="sdl-panel-body">{children}</div>
    </section>
  );
}

function display(v: unknown): string {
  return v === null || v === undefined ? '' : String(v);
}

/**
 * One form field from a JSON Schema property. Number/text commit on blur or
 * Enter, select/checkbox on change. Inputs carry `nodrag nokey` so React Flow
 * neither drags nor handles keys from them.
 */
export const SchemaField = memo(function SchemaField({
  field,
  value,
  errors,
  onCommit,
  idPrefix,
  language = 'en'
}: {
  field: FieldSpec;
  value: unknown;
  errors: string[];
  onCommit: (name: string, value: unknown) => void;
  idPrefix: string;
  language?: string;
}) {
  // What the student typed and the parse problem belong to the value they were typed over: once the value is
  // another one (from Python, or the commit coming back) the field shows it in the same render (#16), with no
  // one-render lag of an effect copying it in.
  const [draft, setDraft] = useState<{ text: string; problem: string | null; base: unknown } | null>(null);
  const current = draft !== null && Object.is(draft.base, value) ? draft : null;
  const text = current ? current.text : display(value);
  const problem = current ? current.problem : null;
  const setText = (next: string) => setDraft({ text: next, problem, base: value });
  const setProblem = (message: string | null) => setDraft({ text, problem: message, base: value });

  const id = `${idPrefix}-${field.name}`;
  const commit = (raw: string | boolean) => {
    const lang = language === 'ko' ? 'ko' : 'en';
    const parsed = parseFieldInput(field, raw, lang);
    if (!parsed.ok) {
      setProblem(parsed.message);
      return;
    }
    setProblem(null);
    if (!Object.is(parsed.value, value)) {
      onCommit(field.name, parsed.value);
    }
  };

  let input: React.ReactNode;
  if (field.kind === 'boolean') {
    input = (
      <input
        id={id}
        className="nodrag nokey sdl-input"
        type="checkbox"
        checked={Boolean(value)}
        onChange={e => commit(e.target.checked)}
      />
    );
  } else if (field.kind === 'enum') {
    input = (
      <select
        id={id}
        className="nodrag nokey sdl-input"
        value={display(value)}
        onChange={e => commit(e.target.value)}
      >
        {field.nullable && <option value="">{t(language === 'ko' ? 'ko' : 'en', 'none')}</option>}
        {(field.options ?? []).map(o => (
          <option key={String(o)} value={String(o)}>
            {String(o)}
          </option>
        ))}
      </select>
    );
  } else {
    const numeric = field.kind === 'integer' || field.kind === 'number';
    input = (
      <input
        id={id}
        className="nodrag nokey sdl-input"
        type="text"
        inputMode={numeric ? (field.kind === 'integer' ? 'numeric' : 'decimal') : undefined}
        value={text}
        placeholder={field.nullable ? t(language === 'ko' ? 'ko' : 'en', 'auto') : undefined}
        onChange={e => setText(e.target.value)}
        onBlur={() => commit(text)}
        onKeyDown={e => {
          if (e.key === 'Enter') {
            commit(text);
          } else if (e.key === 'Escape') {
            setDraft(null);
          }
        }}
      />
    );
  }
  const messages = problem ? [problem, ...errors] : errors;
  return (
    <div className={`sdl-field${messages.length ? ' sdl-field-invalid' : ''}`} data-field={field.name}>
      <label htmlFor={id} title={(language === 'ko' && field.descriptionKo) || field.description}>
        {(language === 'ko' && field.titleKo) || field.title}
      </label>
      {input}
      {messages.map((m, i) => (
        <div key={i} className="sdl-field-error" role="alert">
          {m}
        </div>
      ))}
    </div>
  );
});
