/**
 * The PostgREST query grammar: `select`, filters, logic trees, `order`, `Prefer`, `Range`.
 * Pure functions from strings to a query tree; nothing here knows the schema.
 */
import { PgrstError } from './errors.js';

export interface JsonStep {
  /** `->` keeps JSON, `->>` yields text. */
  arrow: '->' | '->>';
  key: string;
}

export interface Field {
  name: string;
  json: JsonStep[];
  /** Set by the planner when `name` is a computed field: the function and its row type. */
  computed?: { schema: string; name: string; table: { schema: string; name: string } };
}

export type SelectItem =
  | { kind: 'star' }
  | { kind: 'column'; field: Field; alias?: string; cast?: string }
  | { kind: 'count'; alias?: string }
  | {
      /** `count()`, `col.sum()`, `alias:col::numeric.avg()::int` (DB_AGGREGATES_ENABLED). */
      kind: 'aggregate';
      fn: AggregateFunction;
      /** The aggregated column; none for `count()`. */
      field?: Field;
      /** Cast of the column before aggregating. */
      cast?: string;
      /** Cast of the aggregate's result. */
      resultCast?: string;
      alias?: string;
    }
  | {
      kind: 'embed';
      /** Relation name as written (table, FK column or constraint name). */
      relation: string;
      alias?: string;
      hint?: string;
      join: 'left' | 'inner' | undefined;
      spread: boolean;
      select: SelectItem[];
    };

export const AGGREGATE_FUNCTIONS = ['count', 'sum', 'avg', 'min', 'max'] as const;
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

export const OPERATORS = {
  eq: '=',
  neq: '<>',
  gt: '>',
  gte: '>=',
  lt: '<',
  lte: '<=',
  like: 'LIKE',
  ilike: 'ILIKE',
  match: '~',
  imatch: '~*',
  cs: '@>',
  cd: '<@',
  ov: '&&',
  sl: '<<',
  sr: '>>',
  // "does not extend to the left of" keeps the lower bound at or right of the value's: &>.
  nxl: '&>',
  nxr: '&<',
  adj: '-|-',
  isdistinct: 'IS DISTINCT FROM',
} as const;
export type SimpleOperator = keyof typeof OPERATORS;
export const FTS_OPERATORS = {
  fts: 'to_tsquery',
  plfts: 'plainto_tsquery',
  phfts: 'phraseto_tsquery',
  wfts: 'websearch_to_tsquery',
} as const;
export type FtsOperator = keyof typeof FTS_OPERATORS;
const QUANTIFIABLE = new Set([
  'eq',
  'neq',
  'gt',
  'gte',
  'lt',
  'lte',
  'like',
  'ilike',
  'match',
  'imatch',
]);

export type Operation =
  | { op: SimpleOperator; value: string; quantifier?: 'any' | 'all' }
  | { op: 'in'; values: string[] }
  | { op: 'is'; value: 'null' | 'true' | 'false' | 'unknown' }
  | { op: FtsOperator; value: string; config?: string };

export interface Filter {
  kind: 'filter';
  field: Field;
  negated: boolean;
  operation: Operation;
}

export interface Logic {
  kind: 'logic';
  operator: 'and' | 'or';
  negated: boolean;
  children: Condition[];
}

export type Condition = Filter | Logic;

export interface OrderTerm {
  field: Field;
  /** `order=relation(column)`: a column of an embedded to-one resource. */
  relation?: string;
  direction?: 'asc' | 'desc';
  nulls?: 'first' | 'last';
}

const MAX_DEPTH = 16;
const MAX_ITEMS = 1000;

// ---- small scanners -------------------------------------------------------------------------

/** Splits on `sep` outside parentheses, braces and double quotes. */
export function splitTopLevel(input: string, sep = ','): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (quoted) {
      if (ch === '\\') i++;
      else if (ch === '"') quoted = false;
      continue;
    }
    if (ch === '"') quoted = true;
    else if (ch === '(' || ch === '{' || ch === '[') depth++;
    else if (ch === ')' || ch === '}' || ch === ']') {
      depth--;
      if (depth < 0) throw parseError(input, `unexpected "${ch}"`);
    } else if (ch === sep && depth === 0) {
      parts.push(input.slice(start, i));
      start = i + 1;
    }
  }
  if (quoted) throw parseError(input, 'unterminated quote');
  if (depth !== 0) throw parseError(input, 'unbalanced parentheses');
  parts.push(input.slice(start));
  return parts;
}

function parseError(input: string, detail: string): PgrstError {
  return new PgrstError(400, 'PGRST100', `"failed to parse" (${input.slice(0, 200)})`, detail);
}

/** An identifier, bare or double-quoted. Bare names cannot hold PostgREST's punctuation. */
function parseName(raw: string, context: string): string {
  const s = raw.trim();
  if (s.startsWith('"')) {
    if (!s.endsWith('"') || s.length < 3)
      throw parseError(context, `unterminated or empty quoted name ${s.slice(0, 40)}`);
    return s.slice(1, -1).replace(/\\"/g, '"');
  }
  if (!s || /[.,:()!"\s]/.test(s) || s.includes('->')) {
    throw parseError(context, `unexpected "${s.slice(0, 40)}"`);
  }
  return s;
}

/** `col`, `"my col"`, `col->a->>b`, `col->0`. */
export function parseField(raw: string, context = raw): Field {
  const s = raw.trim();
  const parts: string[] = [];
  const arrows: Array<'->' | '->>'> = [];
  let i = 0;
  let start = 0;
  let quoted = false;
  while (i < s.length) {
    const ch = s[i];
    if (quoted) {
      if (ch === '"') quoted = false;
      i++;
      continue;
    }
    if (ch === '"') {
      quoted = true;
      i++;
      continue;
    }
    if (ch === '-' && s[i + 1] === '>') {
      parts.push(s.slice(start, i));
      const arrow = s[i + 2] === '>' ? '->>' : '->';
      arrows.push(arrow);
      i += arrow.length;
      start = i;
      continue;
    }
    i++;
  }
  if (quoted) throw parseError(context, 'unterminated quote');
  parts.push(s.slice(start));
  const [head, ...keys] = parts;
  const name = parseName(head ?? '', context);
  return {
    name,
    json: keys.map((k, idx) => {
      const key = k.trim().startsWith('"') ? parseName(k, context) : k.trim();
      if (!key) throw parseError(context, 'empty JSON key');
      return { arrow: arrows[idx]!, key };
    }),
  };
}

// ---- select ---------------------------------------------------------------------------------

export function parseSelect(input: string | undefined): SelectItem[] {
  if (input === undefined || input.trim() === '') return [{ kind: 'star' }];
  return parseSelectList(input, input, 0);
}

function parseSelectList(list: string, context: string, depth: number): SelectItem[] {
  if (depth > MAX_DEPTH) throw parseError(context, 'select is nested too deeply');
  const items = splitTopLevel(list);
  if (items.length > MAX_ITEMS) throw parseError(context, 'too many select items');
  return items.map((raw) => parseSelectItem(raw.trim(), context, depth));
}

function parseSelectItem(raw: string, context: string, depth: number): SelectItem {
  if (!raw) throw parseError(context, 'empty select item');
  if (raw === '*') return { kind: 'star' };
  const aggregate = parseAggregate(raw, context, depth);
  if (aggregate) return aggregate;

  const open = indexOutsideQuotes(raw, '(');
  if (open >= 0) {
    if (!raw.endsWith(')'))
      throw parseError(context, `unexpected text after ")" in ${raw.slice(0, 40)}`);
    let head = raw.slice(0, open).trim();
    const inner = raw.slice(open + 1, -1);
    let spread = false;
    if (head.startsWith('...')) {
      spread = true;
      head = head.slice(3);
    }
    let alias: string | undefined;
    const colon = indexOutsideQuotes(head, ':');
    if (colon >= 0 && head[colon + 1] !== ':') {
      alias = parseName(head.slice(0, colon), context);
      head = head.slice(colon + 1);
    }
    const [relationRaw, ...modifiers] = splitBang(head, context);
    const relation = parseName(relationRaw ?? '', context);
    let hint: string | undefined;
    let join: 'left' | 'inner' | undefined;
    for (const m of modifiers) {
      if (m === 'inner' || m === 'left') join = m;
      else if (hint === undefined) hint = parseName(m, context);
      else throw parseError(context, `unexpected "!${m}"`);
    }
    const innerTrim = inner.trim();
    const select: SelectItem[] =
      innerTrim === 'count'
        ? [{ kind: 'count' }]
        : innerTrim === ''
          ? []
          : parseSelectList(inner, context, depth + 1);
    return {
      kind: 'embed',
      relation,
      ...(alias ? { alias } : {}),
      ...(hint ? { hint } : {}),
      join,
      spread,
      select,
    };
  }

  if (raw.startsWith('...'))
    throw parseError(context, 'spread needs a relation: ...relation(columns)');
  let rest = raw;
  let alias: string | undefined;
  const colon = findAliasColon(rest);
  if (colon >= 0) {
    alias = parseName(rest.slice(0, colon), context);
    rest = rest.slice(colon + 1);
  }
  let cast: string | undefined;
  const castAt = lastIndexOutsideQuotes(rest, '::');
  if (castAt >= 0) {
    cast = parseCast(rest.slice(castAt + 2), context);
    rest = rest.slice(0, castAt);
  }
  const field = parseField(rest, context);
  return { kind: 'column', field, ...(alias ? { alias } : {}), ...(cast ? { cast } : {}) };
}

/**
 * A cast is pasted into SQL: one type name (identifier characters only, optionally
 * schema-qualified or an array), or one of PostgreSQL's multi-word type names. Nothing else, so
 * no clause can ride along.
 */
function parseCast(raw: string, context: string): string {
  const words = raw.trim().toLowerCase().replace(/\s+/g, ' ');
  if (
    !/^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?(\[\])?$/.test(words) &&
    !MULTI_WORD_TYPES.has(words.replace(/\[\]$/, ''))
  )
    throw parseError(context, `invalid cast "${raw.trim().slice(0, 40)}"`);
  return words;
}

/** `[alias:]count()[::type]` or `[alias:]column[::type].fn()[::type]`; undefined otherwise. */
function parseAggregate(raw: string, context: string, depth: number): SelectItem | undefined {
  const m = /(^|[.:])(count|sum|avg|min|max)\(\)(?:::([^:()"]+))?$/.exec(raw);
  if (!m) return undefined;
  const fn = m[2] as AggregateFunction;
  const resultCast = m[3] === undefined ? undefined : parseCast(m[3], context);
  const head = raw.slice(0, m.index);
  const common = { kind: 'aggregate' as const, fn, ...(resultCast ? { resultCast } : {}) };
  if (m[1] !== '.') {
    // `count()` alone, or `alias:count()`.
    if (fn !== 'count') throw parseError(context, `"${fn}()" needs a column: column.${fn}()`);
    const alias = m[1] === ':' ? parseName(head, context) : undefined;
    return { ...common, ...(alias ? { alias } : {}) };
  }
  const column = parseSelectItem(head, context, depth);
  if (column.kind !== 'column')
    throw parseError(context, `cannot aggregate "${head.slice(0, 40)}"`);
  return {
    ...common,
    field: column.field,
    ...(column.cast ? { cast: column.cast } : {}),
    ...(column.alias ? { alias: column.alias } : {}),
  };
}

const MULTI_WORD_TYPES = new Set([
  'double precision',
  'character varying',
  'bit varying',
  'timestamp with time zone',
  'timestamp without time zone',
  'time with time zone',
  'time without time zone',
]);

function splitBang(head: string, context: string): string[] {
  const parts = splitOutsideQuotes(head, '!');
  if (parts.some((p) => p.trim() === '')) throw parseError(context, `unexpected "!" in ${head}`);
  return parts.map((p) => p.trim());
}

/** The alias colon: a single `:` outside quotes (not part of `::`). */
function findAliasColon(s: string): number {
  const i = indexOutsideQuotes(s, ':');
  return i >= 0 && s[i + 1] === ':' ? -1 : i;
}

/**
 * Where `needle` starts outside double-quoted names in `s`, in order: the one scanner behind
 * every split and search of PostgREST's punctuation that a quoted name may hold.
 */
function indicesOutsideQuotes(s: string, needle: string): number[] {
  const found: number[] = [];
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '"') quoted = !quoted;
    else if (!quoted && s.startsWith(needle, i)) found.push(i);
  }
  return found;
}

function indexOutsideQuotes(s: string, needle: string): number {
  return indicesOutsideQuotes(s, needle)[0] ?? -1;
}

function lastIndexOutsideQuotes(s: string, needle: string): number {
  return indicesOutsideQuotes(s, needle).at(-1) ?? -1;
}

/** `s` split on `sep` outside double-quoted names. */
function splitOutsideQuotes(s: string, sep: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (const i of indicesOutsideQuotes(s, sep)) {
    parts.push(s.slice(start, i));
    start = i + sep.length;
  }
  parts.push(s.slice(start));
  return parts;
}

// ---- filters --------------------------------------------------------------------------------

/** `[not.]op[(any|all)|(config)].value` */
export function parseOperation(
  raw: string,
  context: string,
  inLogicTree = false,
): { negated: boolean; operation: Operation } {
  let s = raw;
  let negated = false;
  if (s.startsWith('not.')) {
    negated = true;
    s = s.slice(4);
  }
  const dot = s.indexOf('.');
  if (dot < 0) throw parseError(context, `missing operator in "${raw.slice(0, 60)}"`);
  const opPart = s.slice(0, dot);
  const rawValue = s.slice(dot + 1);
  const m = /^([a-z]+)(?:\(([^)]*)\))?$/.exec(opPart);
  if (!m) throw parseError(context, `unknown operator "${opPart.slice(0, 40)}"`);
  const op = m[1]!;
  const modifier = m[2];
  // Inside or=(...)/and=(...), a value may be double-quoted to hold commas and parentheses.
  const value = inLogicTree && !rawValue.startsWith('(') ? unquoteValue(rawValue) : rawValue;

  if (op === 'in') {
    if (modifier !== undefined) throw parseError(context, '"in" takes no modifier');
    if (!value.startsWith('(') || !value.endsWith(')'))
      throw parseError(context, 'in needs a list: in.(a,b)');
    const body = value.slice(1, -1);
    const values = body.trim() === '' ? [] : splitTopLevel(body).map(unquoteValue);
    if (values.length > 10000) throw parseError(context, 'in list has too many values');
    return { negated, operation: { op: 'in', values } };
  }
  if (op === 'is') {
    if (modifier !== undefined) throw parseError(context, '"is" takes no modifier');
    const v = value.toLowerCase();
    if (v !== 'null' && v !== 'true' && v !== 'false' && v !== 'unknown') {
      throw new PgrstError(
        400,
        'PGRST100',
        `"failed to parse filter (is.${value.slice(0, 40)})"`,
        'is accepts null, true, false or unknown',
      );
    }
    return { negated, operation: { op: 'is', value: v } };
  }
  if (op in FTS_OPERATORS) {
    if (modifier !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(modifier))
      throw parseError(context, `invalid text search config "${modifier}"`);
    return {
      negated,
      operation: { op: op as FtsOperator, value, ...(modifier ? { config: modifier } : {}) },
    };
  }
  if (op in OPERATORS) {
    if (modifier !== undefined) {
      if (modifier !== 'any' && modifier !== 'all')
        throw parseError(context, `unknown modifier "${modifier}"`);
      if (!QUANTIFIABLE.has(op)) throw parseError(context, `"${op}" cannot take (${modifier})`);
      if (!/^\{.*\}$/s.test(value))
        throw parseError(context, `${op}(${modifier}) needs a list: {a,b}`);
      return { negated, operation: { op: op as SimpleOperator, value, quantifier: modifier } };
    }
    return { negated, operation: { op: op as SimpleOperator, value } };
  }
  throw parseError(context, `unknown operator "${op.slice(0, 40)}"`);
}

function unquoteValue(v: string): string {
  const s = v.trim();
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"'))
    return s.slice(1, -1).replace(/\\(.)/g, '$1');
  return s;
}

/** A filter from a query parameter: key = `[rel.]col[->json]`, value = `[not.]op.value`. */
export function parseFilter(key: string, value: string): { path: string[]; filter: Filter } {
  const context = `${key}=${value}`;
  const { path, last } = splitEmbedPath(key, context);
  const field = parseField(last, context);
  const { negated, operation } = parseOperation(value, context);
  return { path, filter: { kind: 'filter', field, negated, operation } };
}

/**
 * `rel.sub.col` → path [rel, sub], last `col`. JSON arrows may contain no dots, so the split is
 * on dots outside quotes before the first arrow.
 */
export function splitEmbedPath(key: string, context: string): { path: string[]; last: string } {
  const arrow = key.indexOf('->');
  const head = arrow >= 0 ? key.slice(0, arrow) : key;
  const tail = arrow >= 0 ? key.slice(arrow) : '';
  const parts = splitOutsideQuotes(head, '.');
  parts[parts.length - 1] += tail;
  if (parts.some((p) => p === '')) throw parseError(context, `empty name in "${key.slice(0, 60)}"`);
  const last = parts.pop()!;
  return { path: parts.map((p) => parseName(p, context)), last };
}

/** `rel.sub` → ['rel', 'sub'] (names may be double-quoted). */
export function parsePath(prefix: string, context: string): string[] {
  const parts = splitOutsideQuotes(prefix, '.');
  if (parts.some((p) => p === ''))
    throw parseError(context, `empty name in "${prefix.slice(0, 60)}"`);
  return parts.map((p) => parseName(p, context));
}

/** `(a.eq.1,and(b.gt.2,c.is.null),not.or(...))` for the key `or`, `and`, `not.or`, `not.and`. */
export function parseLogic(
  operator: 'and' | 'or',
  negated: boolean,
  value: string,
  context: string,
): Logic {
  return parseLogicBody(operator, negated, value.trim(), context, 0);
}

function parseLogicBody(
  operator: 'and' | 'or',
  negated: boolean,
  value: string,
  context: string,
  depth: number,
): Logic {
  if (depth > MAX_DEPTH) throw parseError(context, 'logic tree is nested too deeply');
  if (!value.startsWith('(') || !value.endsWith(')'))
    throw parseError(context, `${operator} needs a list: ${operator}=(a.eq.1,b.eq.2)`);
  const items = splitTopLevel(value.slice(1, -1));
  if (items.length > MAX_ITEMS) throw parseError(context, 'too many conditions');
  const children = items.map((raw): Condition => {
    const s = raw.trim();
    const nested = /^(not\.)?(and|or)\(/.exec(s);
    if (nested) {
      return parseLogicBody(
        nested[2] as 'and' | 'or',
        Boolean(nested[1]),
        s.slice(nested[0].length - 1),
        context,
        depth + 1,
      );
    }
    // field.[not.]op.value — the field ends at the first dot outside quotes (JSON paths have none).
    const fieldEnd = indexOutsideQuotes(s, '.');
    if (fieldEnd <= 0) throw parseError(context, `"${s.slice(0, 60)}" is not a condition`);
    const field = parseField(s.slice(0, fieldEnd), context);
    const { negated: neg, operation } = parseOperation(s.slice(fieldEnd + 1), context, true);
    return { kind: 'filter', field, negated: neg, operation };
  });
  return { kind: 'logic', operator, negated, children };
}

// ---- order ----------------------------------------------------------------------------------

export function parseOrder(value: string): OrderTerm[] {
  const context = `order=${value}`;
  return splitTopLevel(value).map((raw) => {
    const s = raw.trim();
    if (!s) throw parseError(context, 'empty order term');
    // Modifiers are the trailing dot-separated words; the field may contain JSON arrows.
    const words = s.split('.');
    let direction: 'asc' | 'desc' | undefined;
    let nulls: 'first' | 'last' | undefined;
    while (words.length > 1) {
      const w = words[words.length - 1]!;
      if ((w === 'asc' || w === 'desc') && !direction && !nulls) direction = w;
      else if ((w === 'nullsfirst' || w === 'nullslast') && !nulls)
        nulls = w === 'nullsfirst' ? 'first' : 'last';
      else if (w === 'asc' || w === 'desc') {
        if (direction) throw parseError(context, `conflicting directions in "${s}"`);
        direction = w;
      } else break;
      words.pop();
    }
    const target = words.join('.');
    const related = /^([^()]+)\((.+)\)$/s.exec(target);
    const field = parseField(related ? related[2]! : target, context);
    return {
      field,
      ...(related ? { relation: parseName(related[1]!, context) } : {}),
      ...(direction ? { direction } : {}),
      ...(nulls ? { nulls } : {}),
    };
  });
}

// ---- headers --------------------------------------------------------------------------------

export interface Preferences {
  return?: 'minimal' | 'representation' | 'headers-only';
  count?: 'exact' | 'planned' | 'estimated';
  resolution?: 'merge-duplicates' | 'ignore-duplicates';
  missing?: 'default' | 'null';
  handling?: 'strict' | 'lenient';
  tx?: 'commit' | 'rollback';
  maxAffected?: number;
  paramsSingleObject?: boolean;
  timezone?: string;
  /** Preferences understood, as they should be echoed in Preference-Applied. */
  applied: string[];
  /** Preferences not understood (an error under handling=strict). */
  invalid: string[];
}

const PREF_VALUES: Record<string, readonly string[]> = {
  return: ['minimal', 'representation', 'headers-only'],
  count: ['exact', 'planned', 'estimated'],
  resolution: ['merge-duplicates', 'ignore-duplicates'],
  missing: ['default', 'null'],
  handling: ['strict', 'lenient'],
  tx: ['commit', 'rollback'],
  params: ['single-object'],
};

export function parsePrefer(headers: string | string[] | undefined): Preferences {
  const prefs: Preferences = { applied: [], invalid: [] };
  const raw = (Array.isArray(headers) ? headers.join(',') : (headers ?? '')).split(/[,;]/);
  for (const item of raw) {
    const token = item.trim();
    if (!token) continue;
    const eq = token.indexOf('=');
    const key = eq < 0 ? token : token.slice(0, eq).trim();
    const value = eq < 0 ? '' : token.slice(eq + 1).trim();
    if (key === 'max-affected') {
      const n = Number(value);
      if (Number.isInteger(n) && n >= 0) {
        prefs.maxAffected = n;
        prefs.applied.push(token);
      } else prefs.invalid.push(token);
      continue;
    }
    if (key === 'timezone') {
      prefs.timezone = value;
      prefs.applied.push(token);
      continue;
    }
    const allowed = PREF_VALUES[key];
    if (!allowed || !allowed.includes(value)) {
      prefs.invalid.push(token);
      continue;
    }
    // The other keys of PREF_VALUES are named like the Preferences fields they set.
    if (key === 'params') prefs.paramsSingleObject = true;
    else (prefs as unknown as Record<string, string>)[key] = value;
    prefs.applied.push(`${key}=${value}`);
  }
  return prefs;
}

/** `Range: 0-9` (items). Returns offset and limit, or undefined when absent. */
export function parseRange(
  header: string | undefined,
): { offset: number; limit?: number } | undefined {
  if (!header) return undefined;
  const m = /^\s*(?:items=)?(\d+)-(\d*)\s*$/.exec(header);
  if (!m)
    throw new PgrstError(
      416,
      'PGRST103',
      'Requested range not satisfiable',
      `invalid Range header "${header.slice(0, 40)}"`,
    );
  const from = Number(m[1]);
  if (m[2] === '') return { offset: from };
  const to = Number(m[2]);
  if (to < from)
    throw new PgrstError(
      416,
      'PGRST103',
      'Requested range not satisfiable',
      `range end ${to} is before its start ${from}`,
    );
  return { offset: from, limit: to - from + 1 };
}
