/**
 * Functions and procedures (pg_proc). The core columns describe the signature the records API
 * needs to call a function; `details` adds what the dashboard shows (printed arguments and
 * result, SECURITY DEFINER, the full CREATE statement).
 */
import type { Queryable } from './common.js';

export interface FunctionRow {
  schema: string;
  name: string;
  /** pg_proc.prokind: f function, p procedure, a aggregate, w window. */
  kind: string;
  /** `i` immutable, `s` stable, `v` volatile. */
  volatility: 'i' | 's' | 'v';
  returnsSet: boolean;
  returnType: string;
  /** pg_type.typtype of the return type (`c` for a composite: a table's row). */
  returnTypType: string;
  /** The table whose row type it returns (any relation behind the composite). */
  returnTable: { schema: string; name: string } | null;
  argNames: string[] | null;
  /** proargmodes (i, o, b, v, t), null when every argument is IN. */
  argModes: string[] | null;
  /** Types of all arguments (OUT ones included when there are any). */
  argTypes: string[];
  /** Number of input arguments, and how many of them have defaults. */
  nargs: number;
  ndefaults: number;
  /** The relation whose row type the first input argument is (computed fields/relationships). */
  firstArgTable: { schema: string; name: string } | null;
  /** prorows: the planner's estimate of a set-returning function's rows (`ROWS 1`: to-one). */
  rows: number;
}

export interface FunctionDetails {
  identityArguments: string;
  /** pg_get_function_result: null for a procedure without OUT arguments. */
  result: string | null;
  securityDefiner: boolean;
  /** CREATE statement; null for aggregates and window functions. */
  definition: string | null;
}

type Filter = { schemas: string[]; /** Only these prokinds (all when absent). */ kinds?: string[] };

export function loadFunctions(
  db: Queryable,
  filter: Filter & { details: true },
): Promise<Array<FunctionRow & FunctionDetails>>;
export function loadFunctions(
  db: Queryable,
  filter: Filter & { details?: false },
): Promise<FunctionRow[]>;
export async function loadFunctions(
  db: Queryable,
  filter: Filter & { details?: boolean },
): Promise<Array<FunctionRow & Partial<FunctionDetails>>> {
  const details = filter.details
    ? `, pg_get_function_identity_arguments(p.oid) AS identity_args, pg_get_function_result(p.oid) AS result,
         p.prosecdef AS security_definer,
         CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) END AS definition`
    : '';
  const { rows } = await db.query<{
    schema: string;
    name: string;
    kind: string;
    volatility: 'i' | 's' | 'v';
    returns_set: boolean;
    return_type: string;
    return_typtype: string;
    return_table_schema: string | null;
    return_table_name: string | null;
    arg_names: string[] | null;
    arg_modes: string[] | null;
    arg_types: string[];
    nargs: number;
    ndefaults: number;
    first_arg_schema: string | null;
    first_arg_table: string | null;
    rows: number;
    identity_args?: string;
    result?: string | null;
    security_definer?: boolean;
    definition?: string | null;
  }>(
    `SELECT n.nspname AS schema, p.proname AS name, p.prokind AS kind, p.provolatile AS volatility,
            p.proretset AS returns_set, format_type(p.prorettype, NULL) AS return_type,
            t.typtype AS return_typtype, rn.nspname AS return_table_schema, rc.relname AS return_table_name,
            p.proargnames AS arg_names, p.proargmodes::text[] AS arg_modes,
            array(SELECT format_type(x, NULL) FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) x) AS arg_types,
            p.pronargs AS nargs, p.pronargdefaults AS ndefaults,
            an.nspname AS first_arg_schema, ac.relname AS first_arg_table, p.prorows::float8 AS rows${details}
     FROM pg_proc p
     JOIN pg_namespace n ON n.oid = p.pronamespace
     JOIN pg_type t ON t.oid = p.prorettype
     LEFT JOIN pg_class rc ON rc.oid = t.typrelid
     LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
     LEFT JOIN pg_type at ON at.oid = p.proargtypes[0]
     LEFT JOIN pg_class ac ON ac.oid = at.typrelid
     LEFT JOIN pg_namespace an ON an.oid = ac.relnamespace
     WHERE n.nspname = ANY($1) AND ($2::"char"[] IS NULL OR p.prokind = ANY($2::"char"[]))
     ORDER BY n.nspname, p.proname`,
    [filter.schemas, filter.kinds ?? null],
  );
  return rows.map((r) => ({
    schema: r.schema,
    name: r.name,
    kind: r.kind,
    volatility: r.volatility,
    returnsSet: r.returns_set,
    returnType: r.return_type,
    returnTypType: r.return_typtype,
    returnTable:
      r.return_table_schema && r.return_table_name
        ? { schema: r.return_table_schema, name: r.return_table_name }
        : null,
    argNames: r.arg_names,
    argModes: r.arg_modes,
    argTypes: r.arg_types,
    nargs: r.nargs,
    ndefaults: r.ndefaults,
    firstArgTable:
      r.first_arg_schema && r.first_arg_table
        ? { schema: r.first_arg_schema, name: r.first_arg_table }
        : null,
    rows: r.rows,
    ...(filter.details
      ? {
          identityArguments: r.identity_args ?? '',
          result: r.result ?? null,
          securityDefiner: r.security_definer ?? false,
          definition: r.definition ?? null,
        }
      : {}),
  }));
}
