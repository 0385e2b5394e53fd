/**
 * The Database area's URL state (typed search params), one validator per route of the area
 * (declared in src/router.tsx). Invalid values become undefined, never an error.
 *
 *   /database                 (layout: the sub-navigation)           no params
 *   /database/                table list (also /database/tables)     ?schema= &q=
 *   /database/tables/$table   table editor                           ?schema= &tab= &sort= &filter= &page= &size=
 *   /database/functions|views|enums|extensions   catalog pages       ?schema= &q=
 *   /database/diagram         schema diagram                         ?schema=
 *   /database/migrations      migrations                             ?selected=
 *   /database/import-export   import and export                      ?mode=
 */
import { optionalEnum, optionalInt, optionalString } from '../../lib/search';

// ---- table list ---------------------------------------------------------------------------------

export interface TablesSearch {
  /** The schema shown (absent: every exposed schema). */
  schema?: string;
  /** Search in table names. */
  q?: string;
}

export function tablesSearch(s: Record<string, unknown>): TablesSearch {
  return { schema: optionalString(s.schema), q: optionalString(s.q) };
}

// ---- table editor -------------------------------------------------------------------------------

export const tableTabs = ['rows', 'structure', 'policies', 'indexes', 'triggers'] as const;
export type TableTab = (typeof tableTabs)[number];

/** The records API's filter operators the filter builder offers (PostgREST grammar). */
export const filterOps = [
  'eq',
  'neq',
  'gt',
  'gte',
  'lt',
  'lte',
  'like',
  'ilike',
  'is',
  'in',
  'cs',
  'cd',
] as const;
export type FilterOp = (typeof filterOps)[number];

/** One filter: `column=op.value` on the records API (`not` negates it). */
export interface RowFilter {
  column: string;
  op: FilterOp;
  value: string;
  not?: boolean;
}

export const pageSizes = [25, 50, 100, 250, 500] as const;
export const defaultPageSize = 100;

export interface TableSearch {
  /** The table's schema (absent: public). */
  schema?: string;
  /** The tab shown (absent: rows). */
  tab?: TableTab;
  /** `column.asc` or `column.desc` (the records API's order grammar). */
  sort?: string;
  filter?: RowFilter[];
  /** 1-based page of rows. */
  page?: number;
  size?: number;
}

function rowFilters(v: unknown): RowFilter[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: RowFilter[] = [];
  for (const f of v as unknown[]) {
    if (typeof f !== 'object' || f === null) continue;
    const r = f as Record<string, unknown>;
    const column = optionalString(r.column);
    const op = optionalEnum(r.op, filterOps);
    const value =
      typeof r.value === 'string'
        ? r.value
        : typeof r.value === 'number'
          ? String(r.value)
          : undefined;
    if (!column || !op || value === undefined) continue;
    out.push(r.not === true ? { column, op, value, not: true } : { column, op, value });
  }
  return out.length ? out : undefined;
}

export function tableSearch(s: Record<string, unknown>): TableSearch {
  const sort = optionalString(s.sort);
  const size = optionalInt(s.size, 1);
  return {
    schema: optionalString(s.schema),
    tab: optionalEnum(s.tab, tableTabs),
    sort: sort && /\.(asc|desc)$/.test(sort) ? sort : undefined,
    filter: rowFilters(s.filter),
    page: optionalInt(s.page, 1),
    size: size && (pageSizes as readonly number[]).includes(size) ? size : undefined,
  };
}

// ---- catalog pages, diagram, migrations, import/export ------------------------------------------
// (the pages' helper may add fields here: small edits)

export interface CatalogSearch {
  schema?: string;
  q?: string;
  /** The item whose definition is open (`schema.name`, functions with their arguments). */
  item?: string;
}

export function catalogSearch(s: Record<string, unknown>): CatalogSearch {
  return {
    schema: optionalString(s.schema),
    q: optionalString(s.q),
    item: optionalString(s.item),
  };
}

export interface DiagramSearch {
  schema?: string;
}

export function diagramSearch(s: Record<string, unknown>): DiagramSearch {
  return { schema: optionalString(s.schema) };
}

export interface MigrationsSearch {
  selected?: string;
}

export function migrationsSearch(s: Record<string, unknown>): MigrationsSearch {
  return { selected: optionalString(s.selected) };
}

export interface ImportExportSearch {
  mode?: 'import' | 'export';
}

export function importExportSearch(s: Record<string, unknown>): ImportExportSearch {
  return { mode: optionalEnum(s.mode, ['import', 'export'] as const) };
}
