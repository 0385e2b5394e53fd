/**
 * Previews of the table create and alter endpoints (the dashboard shows them before applying):
 * the very same TablesService runs on a Database whose transactions record the statements they
 * send and are then rolled back. What is answered is therefore exactly what the real call would
 * run, and a change that would fail fails here with the same error. Reads (the service's catalog
 * look-ups) are not part of the preview; nothing is committed, so the schema cache is not
 * reloaded either.
 */
import {
  alterTableRequestSchema,
  createTableRequestSchema,
  databaseObjectsQuerySchema,
  tableParamsSchema,
  tablePreviewResponseSchema,
} from '@kiln/shared-schemas';
import type { Database, Principal, Tx } from '../../core/db.js';
import { routeWith, type DeclaredRoute } from '../../core/route.js';
import type { SchemaCache } from '../records/schema-cache.js';
import { TablesService } from './tables.js';

const adminRoute = routeWith('admin');

/** Thrown at the end of a previewed transaction so that it rolls back. */
class RollBack {}

const READ = /^\s*(SELECT|WITH|SHOW)\b/i;

/** A TablesService whose transactions record their statements and roll back. */
function previewService(db: Database, cache: SchemaCache, statements: string[]): TablesService {
  const recorded = (tx: Tx): Tx =>
    new Proxy(tx, {
      get(target, prop) {
        if (prop === 'query') {
          return (text: string, values?: unknown[]) => {
            if (typeof text === 'string' && !READ.test(text)) statements.push(text);
            return target.query(text, values);
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
  const dryDb = Object.create(db, {
    withPrincipal: {
      value: async <T>(principal: Principal, fn: (tx: Tx) => Promise<T>): Promise<T> => {
        try {
          await db.withPrincipal(principal, async (tx) => {
            await fn(recorded(tx));
            throw new RollBack();
          });
        } catch (err) {
          if (!(err instanceof RollBack)) throw err;
        }
        return undefined as T;
      },
    },
  }) as Database;
  const dryCache = Object.create(cache, { reload: { value: async () => {} } }) as SchemaCache;
  return new TablesService(dryDb, dryCache);
}

const answer = (statements: string[]) => ({
  statements,
  sql: statements.map((s) => `${s};`).join('\n'),
  message: statements.length
    ? `${statements.length} statement${statements.length === 1 ? '' : 's'} would run`
    : 'Nothing to change',
});

export function tablePreviewRoutes(db: Database, cache: SchemaCache): DeclaredRoute[] {
  return [
    adminRoute({
      method: 'post',
      path: '/tables/preview',
      summary: 'The SQL a table create would run (run and rolled back; errors as the real call)',
      body: createTableRequestSchema,
      responses: { 200: tablePreviewResponseSchema },
      handler: async ({ principal, body }) => {
        const statements: string[] = [];
        await previewService(db, cache, statements).create(principal, body);
        return answer(statements);
      },
    }),
    adminRoute({
      method: 'post',
      path: '/tables/:table/schema/preview',
      summary: 'The SQL a table alter would run (run and rolled back; errors as the real call)',
      params: tableParamsSchema,
      query: databaseObjectsQuerySchema,
      body: alterTableRequestSchema,
      responses: { 200: tablePreviewResponseSchema },
      handler: async ({ principal, params, query, body }) => {
        const statements: string[] = [];
        await previewService(db, cache, statements).alter(
          principal,
          query.schema,
          params.table,
          body,
        );
        return answer(statements);
      },
    }),
  ];
}
