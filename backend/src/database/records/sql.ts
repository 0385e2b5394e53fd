/**
 * Compiles a planned request to one parameterised SQL statement that builds the response JSON
 * inside PostgreSQL. Identifiers come from the schema cache and are always quoted; every value
 * from the request travels as a parameter.
 */
import { quoteLiteral as literal, quoteIdent as q } from '../../core/sql.js';
import {
  FTS_OPERATORS,
  OPERATORS,
  type Condition,
  type Field,
  type Filter,
  type SelectItem,
} from './parse.js';
import type { EmbedNode, ReadNode, ResolvedOrder } from './plan.js';
import type { Table } from './schema-cache.js';

export class SqlParams {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** Hands out unique table aliases within one statement. */
export class Aliases {
  private n = 0;
  next(prefix = 't'): string {
    return `${prefix}${this.n++}`;
  }
}

export function tableRef(t: Pick<Table, 'schema' | 'name'>): string {
  return `${q(t.schema)}.${q(t.name)}`;
}

export { literal };

/** `t0."data"->'a'->>'b'`; integer keys (that fit PostgreSQL's int) index arrays. */
export function fieldExpr(alias: string, field: Field): string {
  // A computed field is its function applied to the row (cast: the row may come from a CTE).
  let expr = field.computed
    ? `${tableRef(field.computed)}(${alias}::${tableRef(field.computed.table)})`
    : `${alias}.${q(field.name)}`;
  for (const step of field.json) {
    const index = /^-?\d{1,10}$/.test(step.key) && Math.abs(Number(step.key)) <= 2 ** 31 - 1;
    expr += step.arrow + (index ? step.key : literal(step.key));
  }
  return expr;
}

/** The JSON key a selected column appears under. */
export function outputName(field: Field, alias?: string): string {
  if (alias) return alias;
  return field.json.length ? field.json[field.json.length - 1]!.key : field.name;
}

function compileFilter(f: Filter, table: Table, alias: string, params: SqlParams): string {
  const column = fieldExpr(alias, f.field);
  const op = f.operation;
  let sql: string;
  switch (op.op) {
    case 'in':
      sql = op.values.length === 0 ? 'false' : `${column} = ANY(${params.add(op.values)})`;
      break;
    case 'is':
      sql = `${column} IS ${op.value.toUpperCase()}`;
      break;
    case 'fts':
    case 'plfts':
    case 'phfts':
    case 'wfts': {
      const fn = FTS_OPERATORS[op.op];
      const config = op.config ? `${params.add(op.config)}::regconfig, ` : '';
      const isVector =
        f.field.json.length === 0 && table.columns.get(f.field.name)?.type === 'tsvector';
      const vector = isVector ? column : `to_tsvector(${config}${column})`;
      sql = `${vector} @@ ${fn}(${config}${params.add(op.value)})`;
      break;
    }
    default: {
      const sqlOp = OPERATORS[op.op];
      const isLike = op.op === 'like' || op.op === 'ilike';
      if (op.quantifier) {
        const list = isLike ? op.value.replace(/\*/g, '%') : op.value;
        const cast = isLike || op.op === 'match' || op.op === 'imatch' ? '::text[]' : '';
        sql = `${column} ${sqlOp} ${op.quantifier.toUpperCase()}(${params.add(list)}${cast})`;
      } else {
        const value = isLike ? op.value.replace(/\*/g, '%') : op.value;
        sql = `${column} ${sqlOp} ${params.add(value)}`;
      }
    }
  }
  return f.negated ? `NOT (${sql})` : sql;
}

export function compileCondition(
  c: Condition,
  table: Table,
  alias: string,
  params: SqlParams,
): string {
  if (c.kind === 'filter') return compileFilter(c, table, alias, params);
  const parts = c.children.map((child) => compileCondition(child, table, alias, params));
  const joined = parts.length
    ? `(${parts.join(c.operator === 'and' ? ' AND ' : ' OR ')})`
    : c.operator === 'and'
      ? 'true'
      : 'false';
  return c.negated ? `NOT ${joined}` : joined;
}

function compileOrder(
  terms: ResolvedOrder[],
  alias: string,
  params: SqlParams,
  aliases: Aliases,
): string {
  if (!terms.length) return '';
  return (
    ' ORDER BY ' +
    terms
      .map(
        (t) =>
          `${orderExpr(t, alias, params, aliases)}${t.direction ? ` ${t.direction.toUpperCase()}` : ''}${t.nulls ? ` NULLS ${t.nulls.toUpperCase()}` : ''}`,
      )
      .join(', ')
  );
}

/** The sort key: a column, or (`relation(column)`) the column of the embedded to-one row. */
function orderExpr(t: ResolvedOrder, alias: string, params: SqlParams, aliases: Aliases): string {
  if (!t.embed) return fieldExpr(alias, t.field);
  const child = aliases.next();
  const { from, join } = embedSource(t.embed, alias, child, aliases);
  const node = t.embed.node;
  const where = [
    join,
    ...node.conditions.map((c) => compileCondition(c, node.table, child, params)),
  ];
  return `(SELECT ${fieldExpr(child, t.field)} FROM ${from} WHERE ${where.join(' AND ')} LIMIT 1)`;
}

/** ` LIMIT $n OFFSET $m`: like every value, the page bounds travel as parameters. */
export function limitOffset(page: Pick<ReadNode, 'limit' | 'offset'>, params: SqlParams): string {
  const limit = page.limit !== undefined ? ` LIMIT ${params.add(page.limit)}` : '';
  return `${limit}${page.offset ? ` OFFSET ${params.add(page.offset)}` : ''}`;
}

/** How an embed's rows are found from the parent row: FROM … WHERE join. */
function embedSource(
  embed: EmbedNode,
  parentAlias: string,
  childAlias: string,
  aliases: Aliases,
): { from: string; join: string } {
  const r = embed.relationship;
  if (r.computed) {
    // A computed relationship: the function of the parent's row. One row that is all nulls is a
    // single-row function's "nothing".
    return {
      from: `${tableRef(r.computed)}(${parentAlias}::${tableRef(r.source)}) AS ${childAlias}`,
      join: r.computed.returnsSet ? 'true' : `NOT (${childAlias} IS NULL)`,
    };
  }
  if (r.junction) {
    const j = aliases.next('j');
    const on = r.junction.junctionTargetColumns
      .map((jc, i) => `${j}.${q(jc)} = ${childAlias}.${q(r.junction!.targetColumns[i]!)}`)
      .join(' AND ');
    const join = r.junction.junctionSourceColumns
      .map((jc, i) => `${j}.${q(jc)} = ${parentAlias}.${q(r.junction!.sourceColumns[i]!)}`)
      .join(' AND ');
    return {
      from: `${tableRef(embed.node.table)} AS ${childAlias} JOIN ${tableRef(r.junction.table)} AS ${j} ON ${on}`,
      join,
    };
  }
  const join = r.targetColumns
    .map((tc, i) => `${childAlias}.${q(tc)} = ${parentAlias}.${q(r.sourceColumns[i]!)}`)
    .join(' AND ');
  return { from: `${tableRef(embed.node.table)} AS ${childAlias}`, join };
}

interface CompiledNode {
  /** Select-list expressions (with AS). */
  columns: string[];
  /** Per column: an aggregate (true) or a value to group by (false). */
  aggregated: boolean[];
  /** LATERAL joins for spreads. */
  laterals: string[];
  /** WHERE conjuncts (filters, !inner and existence checks). */
  where: string[];
  /**
   * Aggregates of a to-one spread, left to the node it spreads into: their columns carry the
   * aggregate's input under the output name.
   */
  hoisted: Map<string, AggregateItem>;
}

type AggregateItem = Extract<SelectItem, { kind: 'aggregate' }>;

/** Aggregates in the node itself or hoisted from its to-one spreads. */
function aggregates(node: ReadNode): boolean {
  if (node.select.some((i) => i.kind === 'aggregate')) return true;
  return node.embeds.some((e) => e.spread && e.toOne && aggregates(e.node));
}

function aggregateName(item: AggregateItem): string {
  return item.alias ?? item.fn;
}

/** `sum(input)::cast`; `count()` counts rows. */
function aggregateExpr(item: AggregateItem, input: string | undefined): string {
  const call = `${item.fn}(${input ?? '*'})`;
  return item.resultCast ? `(${call})::${item.resultCast}` : call;
}

/** ` GROUP BY 1, 3`: every selected value that is not an aggregate (none: one row). */
function groupBy(out: CompiledNode): string {
  const positions = out.aggregated.flatMap((agg, i) => (agg ? [] : [i + 1]));
  return out.aggregated.some(Boolean) && positions.length
    ? ` GROUP BY ${positions.join(', ')}`
    : '';
}

/**
 * Compiles a node's select list, filters and embeds. `hoist`: the node is a to-one spread, and
 * its aggregates are computed by the node it spreads into.
 */
function compileNode(
  node: ReadNode,
  alias: string,
  params: SqlParams,
  aliases: Aliases,
  hoist = false,
): CompiledNode {
  const out: CompiledNode = {
    columns: [],
    aggregated: [],
    laterals: [],
    where: [],
    hoisted: new Map(),
  };
  const push = (column: string, aggregated = false) => {
    out.columns.push(column);
    out.aggregated.push(aggregated);
  };
  for (const c of node.conditions) out.where.push(compileCondition(c, node.table, alias, params));
  const grouping = !hoist && aggregates(node);

  let embedIndex = 0;
  for (const item of node.select) {
    if (item.kind === 'star') {
      if (grouping) for (const c of node.table.columns.keys()) push(`${alias}.${q(c)}`);
      else push(`${alias}.*`);
    } else if (item.kind === 'count') continue;
    else if (item.kind === 'column') {
      const expr = fieldExpr(alias, item.field);
      push(
        `${item.cast ? `(${expr})::${item.cast}` : expr} AS ${q(outputName(item.field, item.alias))}`,
      );
    } else if (item.kind === 'aggregate') {
      let input = item.field ? fieldExpr(alias, item.field) : undefined;
      if (input && item.cast) input = `(${input})::${item.cast}`;
      const name = aggregateName(item);
      if (hoist) {
        out.hoisted.set(name, item);
        push(`${input ?? 'NULL'} AS ${q(name)}`);
      } else push(`${aggregateExpr(item, input)} AS ${q(name)}`, true);
    } else {
      const embed = node.embeds[embedIndex++]!;
      compileEmbed(embed, alias, params, aliases, out, { grouping, hoist });
    }
  }
  if (out.columns.length === 0) push(`${alias}.*`);
  return out;
}

/** The keys a node's rows have, in order (what compileNode selects). */
function outputNames(node: ReadNode): string[] {
  const names: string[] = [];
  let embedIndex = 0;
  for (const item of node.select) {
    if (item.kind === 'star') names.push(...node.table.columns.keys());
    else if (item.kind === 'column') names.push(outputName(item.field, item.alias));
    else if (item.kind === 'aggregate') names.push(aggregateName(item));
    else if (item.kind === 'embed') {
      const embed = node.embeds[embedIndex++]!;
      if (embed.spread) names.push(...outputNames(embed.node));
      else if (!embed.empty) names.push(embed.name);
    }
  }
  return names.length ? names : [...node.table.columns.keys()];
}

function compileEmbed(
  embed: EmbedNode,
  parentAlias: string,
  params: SqlParams,
  aliases: Aliases,
  out: CompiledNode,
  mode: { grouping: boolean; hoist: boolean },
): void {
  const childAlias = aliases.next();
  const { from, join } = embedSource(embed, parentAlias, childAlias, aliases);
  const hoisting = embed.spread && embed.toOne;
  const child = compileNode(embed.node, childAlias, params, aliases, hoisting);
  const where = [join, ...child.where].join(' AND ');
  const laterals = child.laterals.join(' ');
  // Embedded JSON is grouped as jsonb (json has no equality).
  const push = (expr: string, name: string) => {
    out.columns.push(`${mode.grouping ? `(${expr})::jsonb` : expr} AS ${q(name)}`);
    out.aggregated.push(false);
  };

  if (embed.inner || embed.existence) {
    const exists = `EXISTS (SELECT 1 FROM ${from} ${laterals} WHERE ${where})`;
    out.where.push(embed.existence === 'absent' ? `NOT ${exists}` : exists);
  }

  if (embed.empty) return;
  if (embed.countOnly) {
    const count = `json_build_object('count', count(*))`;
    const expr = embed.toOne ? count : `json_build_array(${count})`;
    push(`(SELECT ${expr} FROM ${from} WHERE ${where})`, embed.name);
    return;
  }
  const body = `SELECT ${child.columns.join(', ')} FROM ${from} ${laterals} WHERE ${where}${groupBy(child)}${compileOrder(embed.node.order, childAlias, params, aliases)}${limitOffset(embed.node, params)}`;
  if (embed.spread) {
    const s = aliases.next('s');
    if (embed.toOne) {
      out.laterals.push(`LEFT JOIN LATERAL (${body}) AS ${s} ON true`);
    } else {
      // A to-many spread: each of the child's columns becomes an array, all in one row order.
      const r = aliases.next('r');
      const columns = outputNames(embed.node).map(
        (n) => `coalesce(json_agg(${r}.${q(n)}), '[]'::json) AS ${q(n)}`,
      );
      out.laterals.push(
        `LEFT JOIN LATERAL (SELECT ${columns.join(', ')} FROM (${body}) AS ${r}) AS ${s} ON true`,
      );
    }
    if (!mode.grouping && !mode.hoist) {
      out.columns.push(`${s}.*`);
      out.aggregated.push(false);
      return;
    }
    // Named one by one: the spread's aggregates are computed here (or further up).
    for (const name of outputNames(embed.node)) {
      const column = `${s}.${q(name)}`;
      const agg = embed.toOne ? child.hoisted.get(name) : undefined;
      if (agg && mode.hoist) {
        out.hoisted.set(name, agg);
        out.columns.push(`${column} AS ${q(name)}`);
        out.aggregated.push(false);
      } else if (agg) {
        out.columns.push(`${aggregateExpr(agg, agg.field ? column : undefined)} AS ${q(name)}`);
        out.aggregated.push(true);
      } else if (embed.toOne) {
        out.columns.push(`${column} AS ${q(name)}`);
        out.aggregated.push(false);
      } else push(column, name); // a to-many spread's arrays
    }
    return;
  }
  const row = aliases.next('r');
  push(
    embed.toOne
      ? `(SELECT row_to_json(${row}) FROM (${body}) AS ${row})`
      : `coalesce((SELECT json_agg(${row}) FROM (${body}) AS ${row}), '[]'::json)`,
    embed.name,
  );
}

export interface CompiledRead {
  /** `SELECT <columns> FROM … WHERE … ORDER BY … LIMIT …` — one row per result row. */
  rows: string;
  /** `SELECT count(*) FROM … WHERE …` over the same rows without limit/offset. */
  count: string;
}

/**
 * Compiles the root node. `source` replaces the table in FROM (a mutation's CTE, a function
 * call); it must expose the table's columns.
 */
export function compileRead(
  node: ReadNode,
  params: SqlParams,
  aliases: Aliases,
  source?: string,
): CompiledRead {
  const alias = aliases.next();
  const compiled = compileNode(node, alias, params, aliases);
  const from = `${source ?? tableRef(node.table)} AS ${alias}`;
  const where = compiled.where.length ? ` WHERE ${compiled.where.join(' AND ')}` : '';
  const rows = `SELECT ${compiled.columns.join(', ')} FROM ${from} ${compiled.laterals.join(' ')}${where}${groupBy(compiled)}`;
  return {
    rows: `${rows}${compileOrder(node.order, alias, params, aliases)}${limitOffset(node, params)}`,
    // Aggregated rows are groups: count those.
    count: compiled.aggregated.some(Boolean)
      ? `SELECT count(*) FROM (${rows}) AS _groups`
      : `SELECT count(*) FROM ${from}${where}`,
  };
}

/**
 * Wraps a row query so PostgreSQL returns the page size and the JSON array as text, plus the
 * total (`countSql`) and any `extra` expressions.
 */
export function wrapAsJson(rows: string, countSql?: string, extra: string[] = []): string {
  const columns = [
    'count(*)::int AS page_count',
    "coalesce(json_agg(_r), '[]'::json)::text AS body",
    ...(countSql ? [`(${countSql})::bigint::text AS total`] : []),
    ...extra,
  ];
  return `SELECT ${columns.join(', ')} FROM (${rows}) AS _r`;
}

/**
 * wrapAsJson's twin for `Accept: text/csv`, PostgREST's CSV exactly: a header line of the first
 * row's keys, then each row as PostgreSQL writes a record without its parentheses (a value is
 * double-quoted when it holds a comma, a quote, a backslash, a space or parentheses, or is empty;
 * quotes and backslashes inside are doubled; NULL is an empty field; booleans are t/f; arrays,
 * JSON and timestamps in PostgreSQL's text form).
 */
export function wrapAsCsv(rows: string, countSql?: string, extra: string[] = []): string {
  const header =
    "coalesce((SELECT string_agg(_k, ',') FROM json_object_keys((SELECT row_to_json(_h) FROM _csv AS _h LIMIT 1)) AS _k), '')";
  const lines = "coalesce(string_agg(substring(_r::text, 2, length(_r::text) - 2), E'\\n'), '')";
  const columns = [
    'count(*)::int AS page_count',
    `${header} || E'\\n' || ${lines} AS body`,
    ...(countSql ? [`(${countSql})::bigint::text AS total`] : []),
    ...extra,
  ];
  return `SELECT * FROM (WITH _csv AS (${rows}) SELECT ${columns.join(', ')} FROM _csv AS _r) AS _w`;
}

/** Conditions of the root node only, for UPDATE/DELETE … WHERE. */
export function compileWhere(
  node: ReadNode,
  alias: string,
  params: SqlParams,
  aliases: Aliases,
): string {
  const parts = node.conditions.map((c) => compileCondition(c, node.table, alias, params));
  for (const embed of node.embeds) {
    if (!embed.inner && !embed.existence) continue;
    const childAlias = aliases.next();
    const { from, join } = embedSource(embed, alias, childAlias, aliases);
    const child = compileNode(embed.node, childAlias, params, aliases);
    const exists = `EXISTS (SELECT 1 FROM ${from} WHERE ${[join, ...child.where].join(' AND ')})`;
    parts.push(embed.existence === 'absent' ? `NOT ${exists}` : exists);
  }
  return parts.join(' AND ');
}

/**
 * wrapAsJson's twin for `Accept: application/geo+json`: the rows as a GeoJSON FeatureCollection,
 * each row a Feature made by PostGIS's `st_asgeojson(record)` (its first geometry column is the
 * geometry, the other columns the properties). Without PostGIS the function does not exist and
 * the request answers 406 (respond.ts).
 */
export function wrapAsGeoJson(rows: string, countSql?: string, extra: string[] = []): string {
  const columns = [
    'count(*)::int AS page_count',
    "json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(st_asgeojson(_r)::json), '[]'::json))::text AS body",
    ...(countSql ? [`(${countSql})::bigint::text AS total`] : []),
    ...extra,
  ];
  return `SELECT ${columns.join(', ')} FROM (${rows}) AS _r`;
}

/** The statement wrapper that writes rows in the negotiated representation. */
export function wrapFor(
  format: 'json' | 'single' | 'csv' | 'geojson',
): (rows: string, countSql?: string, extra?: string[]) => string {
  return format === 'csv' ? wrapAsCsv : format === 'geojson' ? wrapAsGeoJson : wrapAsJson;
}
