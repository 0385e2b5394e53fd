/** Enum types and their labels, in sort order. */
import type { Queryable } from './common.js';

export interface EnumRow {
  oid: number;
  schema: string;
  name: string;
  values: string[];
}

/** SQL for the labels (text[], in sort order) of the enum whose type oid is `typeOid`, else null. */
export function enumLabelsSql(typeOid: string): string {
  return `(SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = ${typeOid})`;
}

/** Enums in `schemas`. */
export async function loadEnums(db: Queryable, schemas: string[]): Promise<EnumRow[]> {
  const { rows } = await db.query<Omit<EnumRow, 'values'> & { values: string[] | null }>(
    `SELECT t.oid::int AS oid, n.nspname AS schema, t.typname AS name, ${enumLabelsSql('t.oid')} AS values
     FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE t.typtype = 'e' AND n.nspname = ANY($1)
     ORDER BY 2, 3`,
    [schemas],
  );
  // An enum without labels (CREATE TYPE x AS ENUM ()) has nothing to list.
  return rows.flatMap((r) => (r.values ? [{ ...r, values: r.values }] : []));
}
