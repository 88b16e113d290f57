import { describe, expect, it } from 'vitest';

import { fieldSpec, parseFieldInput, schemaDefaults, schemaFields } from './schema';

const schema = {
  type: 'object',
  properties: {
    n_heads: { type: 'integer', minimum: 1, maximum: 64, default: 4, title: 'N Heads', description: 'heads' },
    n_kv_heads: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'null' }], default: null, 'x-help-ko': '키/값 헤드' },
    dropout: { type: 'number', minimum: 0, exclusiveMaximum: 1, default: 0.1 },
    bias: { type: 'boolean', default: true },
    activation: { enum: ['gelu', 'relu', 'swiglu'], default: 'gelu', type: 'string' },
    kind: { $ref: '#/$defs/Kind', default: 'learned' }
  },
  $defs: { Kind: { enum: ['learned', 'sinusoidal'], type: 'string' } }
};

describe('schema fields', () => {
  it('describes each property', () => {
    const f = schemaFields(schema);
    expect(f.map(x => x.kind)).toEqual(['integer', 'integer', 'number', 'boolean', 'enum', 'enum']);
    expect(f[0]).toMatchObject({ name: 'n_heads', title: 'N Heads', minimum: 1, maximum: 64, nullable: false });
    expect(f[1]).toMatchObject({ nullable: true, minimum: 1, title: 'N kv heads', descriptionKo: '키/값 헤드' });
    expect(f[5].options).toEqual(['learned', 'sinusoidal']);
  });

  it('reads defaults', () => {
    expect(schemaDefaults(schema)).toEqual({
      n_heads: 4,
      n_kv_heads: null,
      dropout: 0.1,
      bias: true,
      activation: 'gelu',
      kind: 'learned'
    });
    expect(schemaDefaults(undefined)).toEqual({});
  });

  it('parses and checks input', () => {
    const heads = fieldSpec('n_heads', schema.properties.n_heads);
    expect(parseFieldInput(heads, ' 8 ')).toEqual({ ok: true, value: 8 });
    expect(parseFieldInput(heads, '0')).toEqual({ ok: false, message: 'must be at least 1' });
    expect(parseFieldInput(heads, '65')).toEqual({ ok: false, message: 'must be at most 64' });
    expect(parseFieldInput(heads, '2.5')).toEqual({ ok: false, message: 'must be a whole number' });
    expect(parseFieldInput(heads, 'abc')).toEqual({ ok: false, message: 'must be a number' });
    expect(parseFieldInput(heads, '')).toEqual({ ok: false, message: 'a value is required' });
    const kv = fieldSpec('n_kv_heads', schema.properties.n_kv_heads);
    expect(parseFieldInput(kv, '')).toEqual({ ok: true, value: null });
    const drop = fieldSpec('dropout', schema.properties.dropout);
    expect(parseFieldInput(drop, '1')).toEqual({ ok: false, message: 'must be below 1' });
    expect(parseFieldInput(drop, '0.25')).toEqual({ ok: true, value: 0.25 });
    const act = fieldSpec('activation', schema.properties.activation);
    expect(parseFieldInput(act, 'relu')).toEqual({ ok: true, value: 'relu' });
    expect(parseFieldInput(act, 'tanh').ok).toBe(false);
    expect(parseFieldInput(fieldSpec('bias', schema.properties.bias), false)).toEqual({ ok: true, value: false });
  });
});
