/**
 * Resolves a parsed request against the schema cache: which table, which relationships each
 * embed follows, which node each filter/order/limit applies to. The result is a tree the SQL
 * compiler turns into one statement.
 */
import { PgrstError } from './errors.js';
import { PG } from '../../core/sql.js';
import {
  parseFilter,
  parseLogic,
  parseOrder,
  parsePath,
  parseSelect,
  splitEmbedPath,
  type Condition,
  type Field,
  type OrderTerm,
  type SelectItem,
} from './parse.js';
import type { Relationship, SchemaCache, Table } from './schema-cache.js';

export interface ReadNode {
  table: Table;
  select: SelectItem[];
  conditions: Condition[];
  order: ResolvedOrder[];
  limit?: number;
  offset?: number;
  embeds: EmbedNode[];
}

export interface EmbedNode {
  /** Key in the output JSON (alias, or the relation name as written). */
  name: string;
  /** The relation name as written (differs from `name` when aliased). */
  relation: string;
  /** `relation()`: used by filters only, absent from the answer. */
  empty: boolean;
  relationship: Relationship;
  node: ReadNode;
  inner: boolean;
  spread: boolean;
  countOnly: boolean;
  /** `rel=is.null` (no related row) or `rel=not.is.null` (some related row). */
  existence?: 'absent' | 'present';
  /** True when the embed yields one object (or null) rather than an array. */
  toOne: boolean;
}

/** Query parameters with special meaning; every other key is a filter. */
const RESERVED = new Set(['select', 'order', 'limit', 'offset', 'on_conflict', 'columns']);

export interface ReadPlanInput {
  table: Table;
  query: Record<string, string | string[] | undefined>;
  /** RPC: parameters consumed as function arguments are not filters. */
  skipKeys?: Set<string>;
  /** `count()`, `col.sum()`… allowed (DB_AGGREGATES_ENABLED); PGRST123 otherwise. */
  aggregates?: boolean;
}

interface ResolveOptions {
  aggregates: boolean;
}

export function buildReadPlan(cache: SchemaCache, input: ReadPlanInput): ReadNode {
  const selectParam = single(input.query, 'select');
  const root = resolveNode(cache, input.table, parseSelect(selectParam), 0, {
    aggregates: input.aggregates ?? false,
  });

  for (const [key, raw] of Object.entries(input.query)) {
    if (raw === undefined || RESERVED.has(key) || input.skipKeys?.has(key)) continue;
    const values = Array.isArray(raw) ? raw : [raw];
    for (const value of values) applyParam(root, key, value);
  }
  const order = single(input.query, 'order');
  if (order !== undefined) root.order = resolveOrder(root, parseOrder(order));
  const limit = single(input.query, 'limit');
  if (limit !== undefined) root.limit = nonNegativeInt('limit', limit);
  const offset = single(input.query, 'offset');
  if (offset !== undefined) root.offset = nonNegativeInt('offset', offset);
  return root;
}

function single(query: ReadPlanInput['query'], key: string): string | undefined {
  const v = query[key];
  if (Array.isArray(v)) {
    if (v.length > 1) throw new PgrstError(400, 'PGRST100', `"${key}" was given more than once`);
    return v[0];
  }
  return v;
}

export function nonNegativeInt(name: string, value: string): number {
  if (!/^\d{1,15}$/.test(value)) {
    throw new PgrstError(
      400,
      'PGRST100',
      `"failed to parse ${name} (${value.slice(0, 40)})"`,
      `${name} must be a non-negative integer`,
    );
  }
  return Number(value);
}

/** Applies one query parameter (filter, logic, or an embed's order/limit/offset). */
function applyParam(root: ReadNode, key: string, value: string): void {
  const context = `${key}=${value}`;
  // Logic trees: or, and, not.or, not.and, optionally prefixed by an embed path.
  const logic = logicKey(key);
  if (logic) {
    const path = logic.prefix ? parsePath(logic.prefix, context) : [];
    const node = nodeAt(root, path);
    const tree = parseLogic(logic.operator, logic.negated, value, context);
    checkConditionColumns(node.table, [tree]);
    node.conditions.push(tree);
    return;
  }
  const modifier = /^(.+)\.(order|limit|offset)$/.exec(key);
  if (modifier) {
    const { path, last } = splitEmbedPath(modifier[1]!, context);
    const node = nodeAt(root, [...path, last]);
    if (modifier[2] === 'order') node.order = resolveOrder(node, parseOrder(value));
    else if (modifier[2] === 'limit') node.limit = nonNegativeInt(key, value);
    else node.offset = nonNegativeInt(key, value);
    return;
  }
  // `rel=is.null` / `rel=not.is.null` on an embedded resource.
  const { path, last } = splitEmbedPath(key, context);
  const parent = nodeAt(root, path);
  const embed = parent.embeds.find((e) => e.name === last);
  if (embed && /^(not\.)?is\.null$/.test(value)) {
    embed.existence = value.startsWith('not.') ? 'present' : 'absent';
    return;
  }
  const { path: filterPath, filter } = parseFilter(key, value);
  const node = nodeAt(root, filterPath);
  checkConditionColumns(node.table, [filter]);
  node.conditions.push(filter);
}

/** `or`, `not.and`, `rel.or`, `rel.sub.not.and` → the embed prefix, the operator, negation. */
function logicKey(
  key: string,
): { prefix?: string; negated: boolean; operator: 'and' | 'or' } | undefined {
  const m = /(^|\.)(not\.)?(and|or)$/.exec(key);
  if (!m) return undefined;
  const prefix = key.slice(0, m.index);
  return { ...(prefix ? { prefix } : {}), negated: Boolean(m[2]), operator: m[3] as 'and' | 'or' };
}

function nodeAt(root: ReadNode, path: string[]): ReadNode {
  let node = root;
  for (const name of path) {
    const embed = node.embeds.find((e) => e.name === name);
    const aliased = embed ? undefined : node.embeds.find((e) => e.relation === name);
    if (aliased) {
      throw new PgrstError(
        400,
        'PGRST108',
        `'${name}' is not an embedded resource in this request`,
        'Target names are not allowed in filters if they have an alias',
        `Change '${name}' to '${aliased.name}' in filters, orders or limits.`,
      );
    }
    if (!embed) {
      throw new PgrstError(
        400,
        'PGRST108',
        `'${name}' is not an embedded resource in this request`,
        null,
        `Verify that '${name}' is included in the 'select' query parameter.`,
      );
    }
    node = embed.node;
  }
  return node;
}

export function columnMissing(table: Table, column: string): PgrstError {
  return new PgrstError(
    400,
    PG.undefinedColumn,
    `column ${table.name}.${column} does not exist`,
    null,
    null,
  );
}

/** The column exists, or it names a computed field (which the field then records). */
export function checkField(table: Table, field: Field): void {
  if (table.columns.has(field.name)) return;
  const computed = table.computed?.get(field.name);
  if (!computed) throw columnMissing(table, field.name);
  field.computed = { ...computed, table: { schema: table.schema, name: table.name } };
}

function checkConditionColumns(table: Table, conditions: Condition[]): void {
  for (const c of conditions) {
    if (c.kind === 'filter') checkField(table, c.field);
    else checkConditionColumns(table, c.children);
  }
}

/** An order term; `order=relation(column)` names the embedded to-one resource it sorts by. */
export type ResolvedOrder = OrderTerm & { embed?: EmbedNode };

/**
 * Checks each term's column; `relation(column)` must name a to-one embed of this node (by its
 * name in the answer): PGRST108 when it is not embedded, PGRST118 when it is to-many.
 */
function resolveOrder(node: ReadNode, terms: OrderTerm[]): ResolvedOrder[] {
  return terms.map((t) => {
    if (t.relation === undefined) {
      checkField(node.table, t.field);
      return t;
    }
    const embed = node.embeds.find((e) => e.name === t.relation);
    if (!embed) {
      throw new PgrstError(
        400,
        'PGRST108',
        `'${t.relation}' is not an embedded resource in this request`,
        null,
        `Verify that '${t.relation}' is included in the 'select' query parameter.`,
      );
    }
    if (!embed.toOne) {
      throw new PgrstError(
        400,
        'PGRST118',
        `A related order on '${embed.node.table.name}' is not possible`,
        `'${node.table.name}' and '${embed.node.table.name}' do not form a many-to-one or one-to-one relationship`,
        null,
      );
    }
    checkField(embed.node.table, t.field);
    return { ...t, embed };
  });
}

const MAX_EMBED_DEPTH = 8;

function resolveNode(
  cache: SchemaCache,
  table: Table,
  select: SelectItem[],
  depth: number,
  options: ResolveOptions,
): ReadNode {
  if (depth > MAX_EMBED_DEPTH)
    throw new PgrstError(400, 'PGRST100', 'Embedding is nested too deeply');
  const node: ReadNode = { table, select: [], conditions: [], order: [], embeds: [] };
  for (const item of select) {
    if (item.kind === 'column') {
      checkField(table, item.field);
      node.select.push(item);
    } else if (item.kind === 'star' || item.kind === 'count') {
      node.select.push(item);
    } else if (item.kind === 'aggregate') {
      if (!options.aggregates)
        throw new PgrstError(400, 'PGRST123', 'Use of aggregate functions is not allowed');
      if (item.field) checkField(table, item.field);
      node.select.push(item);
    } else {
      const relationship = findRelationship(cache, table, item.relation, item.hint);
      const toOne = relationship.cardinality === 'm2o' || relationship.cardinality === 'o2o';
      const countOnly = item.select.length === 1 && item.select[0]!.kind === 'count';
      const child = resolveNode(
        cache,
        relationship.target,
        countOnly ? [] : item.select.length ? item.select : [{ kind: 'star' }],
        depth + 1,
        options,
      );
      const name = item.alias ?? item.relation;
      if (node.embeds.some((e) => e.name === name)) {
        throw new PgrstError(
          400,
          'PGRST100',
          `"${name}" is embedded twice; give one of them an alias (alias:${item.relation}(...))`,
        );
      }
      node.embeds.push({
        name,
        relation: item.relation,
        empty: item.select.length === 0,
        relationship,
        node: child,
        inner: item.join === 'inner',
        spread: item.spread,
        countOnly,
        toOne,
      });
      node.select.push(item);
    }
  }
  return node;
}

function describe(r: Relationship): Record<string, unknown> {
  return {
    embedding: `${r.source.name} with ${r.target.name}`,
    cardinality:
      r.cardinality === 'm2m'
        ? 'many-to-many'
        : r.cardinality === 'm2o'
          ? 'many-to-one'
          : r.cardinality === 'o2m'
            ? 'one-to-many'
            : 'one-to-one',
    relationship: r.junction
      ? `${r.junction.table.name} using ${r.junction.sourceConstraint}(${r.junction.junctionSourceColumns.join(', ')}) and ${r.junction.targetConstraint}(${r.junction.junctionTargetColumns.join(', ')})`
      : `${r.constraint} using ${r.source.name}(${r.sourceColumns.join(', ')}) and ${r.target.name}(${r.targetColumns.join(', ')})`,
  };
}

/** The single column of a direct link on the source side, and on the target side. */
const sourceColumn = (r: Relationship) =>
  !r.junction && r.sourceColumns.length === 1 ? r.sourceColumns[0] : undefined;
const targetColumn = (r: Relationship) =>
  !r.junction && r.targetColumns.length === 1 ? r.targetColumns[0] : undefined;

/**
 * Whether embedding `name!hint` from the relationship's source means this relationship, by
 * PostgREST's rules. `name` is the target table or view; or, without a hint, a constraint or
 * the source's FK column (tables only). A hint is a constraint, an FK column on either side, or
 * a junction table. A self-reference has one FK but two directions: the table name (with any
 * hint naming that FK) means the children (one-to-many), the FK column the parent.
 */
function matches(r: Relationship, name: string, hint: string | undefined): boolean {
  // A computed relationship is named by its function; hints do not apply.
  if (r.computed) return r.computed.name === name;
  const targetIsView = r.target.kind === 'view' || r.target.kind === 'materialized_view';
  if (r.source === r.target && !r.junction) {
    if (hint === undefined)
      return (
        (r.target.name === name && r.cardinality !== 'm2o') ||
        (r.cardinality === 'm2o' && sourceColumn(r) === name)
      );
    return (
      r.target.name === name &&
      r.cardinality !== 'm2o' &&
      (targetColumn(r) === hint || r.constraint === hint)
    );
  }
  if (hint === undefined)
    return (
      r.target.name === name ||
      (!targetIsView && !r.junction && (r.constraint === name || sourceColumn(r) === name))
    );
  return (
    r.target.name === name &&
    (r.junction
      ? r.junction.table.name === hint
      : r.constraint === hint || sourceColumn(r) === hint || targetColumn(r) === hint)
  );
}

/** 1 − edit distance / longer length, case-insensitively (1: the same name). */
function similarity(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let row = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const next = [i];
    for (let j = 1; j <= y.length; j++)
      next[j] = Math.min(
        row[j]! + 1,
        next[j - 1]! + 1,
        row[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1),
      );
    row = next;
  }
  return 1 - row[y.length]! / Math.max(x.length, y.length, 1);
}

/** The most similar of `names` (at least a third alike, and not `name` itself). */
function closest(name: string, names: Iterable<string>): string | undefined {
  let best: string | undefined;
  let score = 1 / 3;
  for (const candidate of new Set(names)) {
    const s = similarity(name, candidate);
    if (s >= score && s < 1 && (best === undefined || s > score)) {
      best = candidate;
      score = s;
    }
  }
  return best;
}

/**
 * PGRST200's hint, as PostgREST words it: a close name among the tables `table` relates to, or,
 * when `table` relates to none, a close name among the tables that do.
 */
function noRelationshipHint(cache: SchemaCache, table: Table, name: string): string | null {
  const related = cache.relationshipsFrom(table);
  if (related.length) {
    const targets = related.map((r) => r.target.name);
    if (targets.includes(name)) return null;
    const child = closest(name, targets);
    return child ? `Perhaps you meant '${child}' instead of '${name}'.` : null;
  }
  const parents = [...cache.current.relationships.values()]
    .flatMap((rs) => rs.slice(0, 1))
    .filter((r) => r.source.schema === table.schema)
    .map((r) => r.source.name);
  const parent = closest(table.name, parents);
  return parent ? `Perhaps you meant '${parent}' instead of '${table.name}'.` : null;
}

/**
 * Finds the relationship `name` (a table, a foreign-key column or a constraint name) from
 * `table`, narrowed by `hint` (constraint, column, or junction table). PGRST200 when none,
 * PGRST201 (300 Multiple Choices) when several remain.
 */
export function findRelationship(
  cache: SchemaCache,
  table: Table,
  name: string,
  hint?: string,
): Relationship {
  let candidates = cache.relationshipsFrom(table).filter((r) => matches(r, name, hint));
  // A computed relationship overrides the foreign keys of the same name.
  if (candidates.some((r) => r.computed)) candidates = candidates.filter((r) => r.computed);
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length === 0) {
    throw new PgrstError(
      400,
      'PGRST200',
      `Could not find a relationship between '${table.name}' and '${name}' in the schema cache`,
      `Searched for a foreign key relationship between '${table.name}' and '${name}'${hint ? ` using the hint '${hint}'` : ''} in the schema '${table.schema}', but no matches were found.`,
      noRelationshipHint(cache, table, name),
    );
  }
  throw new PgrstError(
    300,
    'PGRST201',
    `Could not embed because more than one relationship was found for '${table.name}' and '${name}'`,
    candidates.map(describe),
    `Try changing '${name}' to one of the following: ${candidates
      .map((r) => `'${r.target.name}!${r.junction ? r.junction.table.name : r.constraint}'`)
      .join(', ')}. Find the desired relationship in the 'details' key.`,
  );
}
