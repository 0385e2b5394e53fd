/**
 * What the grid knows about a column's PostgreSQL type: which editor and input it gets, how a
 * value is shown, and how text typed by the admin becomes the JSON value the records API takes.
 */
import type { ColumnInfo } from './hooks';

export type ColumnKind =
  | 'text'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'date'
  | 'time'
  | 'timestamp'
  | 'json'
  | 'uuid'
  | 'array'
  | 'enum'
  | 'other';

const integers = new Set(['smallint', 'integer', 'bigint', 'int2', 'int4', 'int8', 'oid']);
const numbers = new Set(['numeric', 'real', 'double precision', 'float4', 'float8', 'money']);
const texts = new Set(['text', 'citext', 'name', 'inet', 'cidr', 'macaddr', 'xml', 'tsvector']);

/** The enum's values when the type names an enum of the schema (`public.mood` or `mood`). */
export type EnumLookup = (type: string) => string[] | undefined;

export function columnKind(type: string, enums?: EnumLookup): ColumnKind {
  const t = type.toLowerCase();
  if (t.endsWith('[]') || t === 'array') return 'array';
  if (integers.has(t)) return 'integer';
  if (numbers.has(t) || t.startsWith('numeric(')) return 'number';
  if (t === 'boolean' || t === 'bool') return 'boolean';
  if (t === 'date') return 'date';
  if (t.startsWith('timestamp')) return 'timestamp';
  if (t.startsWith('time')) return 'time';
  if (t === 'json' || t === 'jsonb') return 'json';
  if (t === 'uuid') return 'uuid';
  if (texts.has(t) || t.startsWith('character') || t.startsWith('varchar') || t.startsWith('char'))
    return 'text';
  if (enums?.(type)) return 'enum';
  return 'other';
}

/** The element type of an array type (`text[]` → `text`). */
export function elementType(type: string): string {
  return type.replace(/\[\]$/, '');
}

/** A cell's value as one line of text (JSON and arrays as JSON; null as an empty string). */
export function displayValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The value as the text an input edits (JSON pretty-printed). */
export function editText(value: unknown, kind: ColumnKind): string {
  if (value === null || value === undefined) return '';
  if (kind === 'json' || kind === 'array') return JSON.stringify(value, null, 2);
  if (kind === 'timestamp' && typeof value === 'string') return toLocalInput(value);
  return String(value);
}

/** `2024-05-01T10:00:00+00:00` → `2024-05-01T12:00:00` (the browser's time zone) for datetime-local. */
export function toLocalInput(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export class ValueError extends Error {}

const uuidRe = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Text typed for a column → the JSON value sent to the records API. Empty text is null for a
 * nullable column (an empty string for a text column that is not nullable). Throws ValueError
 * with a message the admin can act on.
 */
export function parseInput(text: string, column: ColumnInfo, kind: ColumnKind): unknown {
  if (text === '' && kind !== 'text') {
    if (column.isNullable) return null;
    throw new ValueError(`${column.columnName} cannot be empty`);
  }
  switch (kind) {
    case 'integer': {
      if (!/^-?\d+$/.test(text.trim())) throw new ValueError('Expected a whole number');
      const n = Number(text);
      // bigint beyond 2^53: keep the digits, PostgreSQL parses them.
      return Number.isSafeInteger(n) ? n : text.trim();
    }
    case 'number': {
      const n = Number(text);
      if (text.trim() === '' || Number.isNaN(n)) throw new ValueError('Expected a number');
      return text.trim();
    }
    case 'boolean':
      if (text === 'true') return true;
      if (text === 'false') return false;
      throw new ValueError('Expected true or false');
    case 'json':
    case 'array':
      try {
        const v: unknown = JSON.parse(text);
        if (kind === 'array' && v !== null && !Array.isArray(v))
          throw new ValueError('Expected a JSON array, e.g. ["a", "b"]');
        return v;
      } catch (err) {
        if (err instanceof ValueError) throw err;
        throw new ValueError(`Invalid JSON: ${(err as Error).message}`);
      }
    case 'uuid':
      if (!uuidRe.test(text.trim()))
        throw new ValueError('Expected a UUID (8-4-4-4-12 hex digits)');
      return text.trim();
    case 'timestamp': {
      // datetime-local gives local time without a zone: send it as an instant.
      const d = new Date(text);
      if (Number.isNaN(d.getTime())) throw new ValueError('Expected a date and time');
      return /[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : d.toISOString();
    }
    case 'text':
      if (text === '' && column.isNullable) return null;
      return text;
    default:
      return text;
  }
}

/** The HTML input type for a kind (the grid's inline editors and the insert form). */
export function inputType(kind: ColumnKind): string {
  switch (kind) {
    case 'integer':
    case 'number':
      return 'text';
    case 'date':
      return 'date';
    case 'time':
      return 'time';
    case 'timestamp':
      return 'datetime-local';
    default:
      return 'text';
  }
}

/** A short label of the type for headers: `timestamp with time zone` → `timestamptz`. */
export function shortType(type: string): string {
  return type
    .replace('timestamp with time zone', 'timestamptz')
    .replace('timestamp without time zone', 'timestamp')
    .replace('time without time zone', 'time')
    .replace('time with time zone', 'timetz')
    .replace('character varying', 'varchar')
    .replace('double precision', 'float8')
    .replace(/^public\./, '');
}
