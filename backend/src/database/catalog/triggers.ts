/** Triggers on tables and views, one row per trigger (its events joined with OR). */
import type { Queryable, RelationFilter } from './common.js';

export interface TriggerRow {
  schema: string;
  table: string;
  name: string;
  /** BEFORE, AFTER or INSTEAD OF. */
  timing: string;
  /** `INSERT OR UPDATE`… */
  events: string;
  /** ROW or STATEMENT. */
  orientation: string;
  condition: string | null;
  statement: string;
}

export async function loadTriggers(db: Queryable, filter: RelationFilter): Promise<TriggerRow[]> {
  const { rows } = await db.query<TriggerRow>(
    `SELECT event_object_schema AS schema, event_object_table AS table, trigger_name AS name,
            action_timing AS timing, string_agg(event_manipulation, ' OR ' ORDER BY event_manipulation) AS events,
            action_orientation AS orientation, action_condition AS condition, action_statement AS statement
     FROM information_schema.triggers
     WHERE event_object_schema = ANY($1) AND ($2::text IS NULL OR event_object_table = $2)
     GROUP BY 1, 2, 3, 4, 6, 7, 8 ORDER BY 1, 2, 3`,
    [filter.schemas, filter.table ?? null],
  );
  return rows;
}
