/**
 * Turns ajv's errors into messages for people: what was expected (from the
 * schema that failed) and what was found (from the data), at a field path
 * the locator can map back to YAML. ajv runs with `verbose` so each error
 * carries its parentSchema and data.
 */
import type { ErrorObject } from 'ajv';
import type { PathSegment } from './errors.js';
import { suggestionTail } from './suggest.js';

export interface SchemaProblem {
  path: PathSegment[];
  /** 'key' for an unknown field: point at the key, not its value. */
  at: 'key' | 'value';
  message: string;
}

/** The subset of a JSON Schema this mapper reads. */
interface SchemaView {
  type?: string | string[];
  description?: string;
  const?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  pattern?: string;
  properties?: Record<string, unknown>;
}

export function schemaProblems(errors: readonly ErrorObject[], root: unknown): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    const p = problemFor(e, pointerToPath(e.instancePath, root));
    // A value can fail several keywords at once (type and enum); one
    // message per place is enough since each already says what is expected.
    const key = `${p.at}:${JSON.stringify(p.path)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}

function problemFor(e: ErrorObject, path: PathSegment[]): SchemaProblem {
  const schema = (e.parentSchema ?? {}) as SchemaView;
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const field = String(params['additionalProperty']);
      const known = Object.keys(schema.properties ?? {});
      return { path: [...path, field], at: 'key', message: `unknown field "${field}"${suggestionTail(field, known)}` };
    }
    case 'required':
      return { path, at: 'value', message: `missing required field "${String(params['missingProperty'])}"` };
    case 'minItems':
    case 'maxItems': {
      const n = Array.isArray(e.data) ? e.data.length : 0;
      const limit = Number(params['limit']);
      const bound = e.keyword === 'minItems' ? 'at least' : 'at most';
      return { path, at: 'value', message: `expected ${bound} ${plural(limit, 'item')}, found ${n === 0 ? 'an empty list' : plural(n, 'item')}` };
    }
    case 'uniqueItems': {
      const i = Number(params['i']);
      const j = Number(params['j']);
      const item = Array.isArray(e.data) ? e.data[Math.max(i, j)] : undefined;
      return { path: [...path, Math.max(i, j)], at: 'value', message: `duplicate item ${render(item)} (already listed at index ${Math.min(i, j)})` };
    }
    case 'type':
    case 'const':
    case 'enum':
    case 'pattern':
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'multipleOf':
    case 'minLength':
      return { path, at: 'value', message: `expected ${expected(schema)}, found ${render(e.data)}` };
    default:
      return { path, at: 'value', message: e.message ?? `failed ${e.keyword}` };
  }
}

/** A noun phrase for what the schema accepts. */
export function expected(s: SchemaView): string {
  if (s.description) return s.description;
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return `one of: ${s.enum.map(String).join(', ')}`;
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  return types.map((t) => typePhrase(t, s)).join(' or ') || 'a valid value';
}

function typePhrase(t: string, s: SchemaView): string {
  switch (t) {
    case 'integer':
    case 'number': {
      const noun = t === 'integer' ? 'an integer' : 'a number';
      if (s.minimum !== undefined && s.maximum !== undefined) return `${noun} between ${s.minimum} and ${s.maximum}`;
      if (s.minimum !== undefined) return `${noun} >= ${s.minimum}`;
      if (s.exclusiveMinimum !== undefined) return `${noun} > ${s.exclusiveMinimum}`;
      if (s.maximum !== undefined) return `${noun} <= ${s.maximum}`;
      return noun;
    }
    case 'string':
      return s.minLength ? 'a non-empty string' : 'a string';
    case 'array':
      return 'a list';
    case 'object':
      return 'a map';
    case 'boolean':
      return 'true or false';
    default:
      return t;
  }
}

/** How a found value reads in a message: strings quoted, structures named. */
export function render(v: unknown): string {
  if (v === undefined || v === null) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v);
  if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : 'a list';
  if (typeof v === 'object') return 'a map';
  return String(v);
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** `/spec/functions/2/next/0` -> ['spec', 'functions', 2, 'next', 0]. The
 * data decides whether a segment is an index: a data label may be "3". */
export function pointerToPath(pointer: string, root: unknown): PathSegment[] {
  if (pointer === '') return [];
  const out: PathSegment[] = [];
  let cur: unknown = root;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      const i = Number(seg);
      out.push(i);
      cur = cur[i];
    } else {
      out.push(seg);
      cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}
