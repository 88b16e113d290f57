/**
 * JSON Schema (as pydantic emits it) → form field descriptions, and value
 * coercion/validation for the inspector. Pure functions.
 */
import { Lang, t } from './i18n';

export interface JSONSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JSONSchema[];
  oneOf?: JSONSchema[];
  properties?: Record<string, JSONSchema>;
  required?: string[];
  $ref?: string;
  $defs?: Record<string, JSONSchema>;
  [key: string]: unknown;
}

export type FieldKind = 'integer' | 'number' | 'boolean' | 'enum' | 'string' | 'unknown';

export interface FieldSpec {
  name: string;
  title: string;
  kind: FieldKind;
  nullable: boolean;
  description?: string;
  /** Korean help (`x-help-ko`), when the schema has it. */
  descriptionKo?: string;
  /** Korean label (`x-title-ko`), when the schema has it. */
  titleKo?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  options?: unknown[];
}

function resolveRef(s: JSONSchema, root: JSONSchema): JSONSchema {
  if (s.$ref && s.$ref.startsWith('#/$defs/')) {
    const def = root.$defs?.[s.$ref.slice('#/$defs/'.length)];
    if (def) {
      return { ...def, ...s, $ref: undefined };
    }
  }
  return s;
}

function titleCase(name: string): string {
  return name.replace(/_/g, ' ').replace(/^\w/, c => c.toUpperCase());
}

/** Describe one property of an object schema. */
export function fieldSpec(name: string, prop: JSONSchema, root: JSONSchema = {}): FieldSpec {
  let s = resolveRef(prop, root);
  let nullable = false;
  const alts = s.anyOf ?? s.oneOf;
  if (alts) {
    const nonNull = alts.filter(a => a.type !== 'null');
    nullable = nonNull.length < alts.length;
    if (nonNull.length === 1) {
      s = { ...resolveRef(nonNull[0], root), ...withoutAlts(s) };
    }
  }
  let type = s.type;
  if (Array.isArray(type)) {
    nullable = nullable || type.includes('null');
    type = type.find(t => t !== 'null');
  }
  let kind: FieldKind = 'unknown';
  let options: unknown[] | undefined;
  if (Array.isArray(s.enum)) {
    kind = 'enum';
    options = s.enum.filter(v => v !== null);
    nullable = nullable || s.enum.includes(null);
  } else if (s.const !== undefined) {
    kind = 'enum';
    options = [s.const];
  } else if (type === 'integer' || type === 'number' || type === 'boolean' || type === 'string') {
    kind = type;
  }
  return {
    name,
    title: s.title ?? prop.title ?? titleCase(name),
    kind,
    nullable,
    description: s.description ?? prop.description,
    descriptionKo: (prop['x-help-ko'] ?? s['x-help-ko']) as string | undefined,
    titleKo: (prop['x-title-ko'] ?? s['x-title-ko']) as string | undefined,
    default: prop.default !== undefined ? prop.default : s.default,
    minimum: s.minimum,
    maximum: s.maximum,
    exclusiveMinimum: s.exclusiveMinimum,
    exclusiveMaximum: s.exclusiveMaximum,
    options
  };
}

function withoutAlts(s: JSONSchema): JSONSchema {
  const rest = { ...s };
  delete rest.anyOf;
  delete rest.oneOf;
  return rest;
}

/** All fields of an object schema, in declaration order. */
export function schemaFields(schema: JSONSchema | undefined | null): FieldSpec[] {
  if (!schema || !schema.properties) {
    return [];
  }
  return Object.entries(schema.properties).map(([k, v]) => fieldSpec(k, v, schema));
}

/** The default data of a block from its schema. */
export function schemaDefaults(schema: JSONSchema | undefined | null): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of schemaFields(schema)) {
    if (f.default !== undefined) {
      out[f.name] = f.default;
    }
  }
  return out;
}

export type Parsed = { ok: true; value: unknown } | { ok: false; message: string };

/** Parse raw text/checkbox input for a field; checks type and bounds (the message in `lang`). */
export function parseFieldInput(field: FieldSpec, raw: string | boolean, lang: Lang = 'en'): Parsed {
  if (field.kind === 'boolean') {
    return { ok: true, value: Boolean(raw) };
  }
  const text = typeof raw === 'string' ? raw.trim() : String(raw);
  if (text === '' && field.nullable) {
    return { ok: true, value: null };
  }
  if (field.kind === 'enum') {
    const opt = field.options?.find(o => String(o) === text);
    return opt !== undefined
      ? { ok: true, value: opt }
      : { ok: false, message: t(lang, 'mustBeOneOf', { options: (field.options ?? []).join(', ') }) };
  }
  if (field.kind === 'integer' || field.kind === 'number') {
    if (text === '') {
      return { ok: false, message: t(lang, 'valueRequired') };
    }
    const value = Number(text);
    if (!Number.isFinite(value)) {
      return { ok: false, message: t(lang, 'mustBeNumber') };
    }
    if (field.kind === 'integer' && !Number.isInteger(value)) {
      return { ok: false, message: t(lang, 'mustBeWhole') };
    }
    if (field.minimum !== undefined && value < field.minimum) {
      return { ok: false, message: t(lang, 'atLeast', { n: field.minimum }) };
    }
    if (field.exclusiveMinimum !== undefined && value <= field.exclusiveMinimum) {
      return { ok: false, message: t(lang, 'above', { n: field.exclusiveMinimum }) };
    }
    if (field.maximum !== undefined && value > field.maximum) {
      return { ok: false, message: t(lang, 'atMost', { n: field.maximum }) };
    }
    if (field.exclusiveMaximum !== undefined && value >= field.exclusiveMaximum) {
      return { ok: false, message: t(lang, 'below', { n: field.exclusiveMaximum }) };
    }
    return { ok: true, value };
  }
  return { ok: true, value: text };
}
