/**
 * The dashboard's database studio routes (admin only, mounted with the database admin group):
 * the SQL editor's snippets and history, table statistics, the advisor's one-click fix.
 */
import {
  advisorFixRequestSchema,
  advisorFixResponseSchema,
  clearedResponseSchema,
  createSqlSnippetRequestSchema,
  deletedResponseSchema,
  listSqlHistoryQuerySchema,
  listSqlHistoryResponseSchema,
  listSqlSnippetsQuerySchema,
  listSqlSnippetsResponseSchema,
  sqlSnippetParamsSchema,
  sqlSnippetSchema,
  tableStatsQuerySchema,
  tableStatsResponseSchema,
  updateSqlSnippetRequestSchema,
} from '@kiln/shared-schemas';
import type { Database } from '../../core/db.js';
import { routeWith, type DeclaredRoute } from '../../core/route.js';
import type { SchemaCache } from '../records/schema-cache.js';
import { advisorFix } from './advisor.js';
import type { SqlEditorStore } from './snippets.js';
import { tableStats } from './table-stats.js';

const adminRoute = routeWith('admin');

export function studioRoutes(
  db: Database,
  cache: SchemaCache,
  editor: SqlEditorStore,
): DeclaredRoute[] {
  return [
    adminRoute({
      method: 'get',
      path: '/tables/stats',
      summary:
        'Tables of the project with estimated rows, sizes, RLS and policy counts (catalog only, no count(*))',
      query: tableStatsQuerySchema,
      responses: { 200: tableStatsResponseSchema },
      handler: ({ query }) => tableStats(db.pool, cache.exposedSchemas, query.schema),
    }),
    adminRoute({
      method: 'get',
      path: '/sql/snippets',
      summary: 'Saved SQL snippets (?folder=, ?search=, paged)',
      query: listSqlSnippetsQuerySchema,
      responses: { 200: listSqlSnippetsResponseSchema },
      handler: ({ query }) => editor.listSnippets(query),
    }),
    adminRoute({
      method: 'post',
      path: '/sql/snippets',
      summary: 'Save an SQL snippet',
      body: createSqlSnippetRequestSchema,
      responses: { 201: { description: 'Saved', schema: sqlSnippetSchema } },
      handler: ({ principal, body }) => editor.createSnippet(principal, body),
    }),
    adminRoute({
      method: 'get',
      path: '/sql/snippets/:id',
      summary: 'An SQL snippet',
      params: sqlSnippetParamsSchema,
      responses: { 200: sqlSnippetSchema },
      handler: ({ params }) => editor.getSnippet(params.id),
    }),
    adminRoute({
      method: 'patch',
      path: '/sql/snippets/:id',
      summary: 'Change an SQL snippet (name, sql, folder, description)',
      params: sqlSnippetParamsSchema,
      body: updateSqlSnippetRequestSchema,
      responses: { 200: sqlSnippetSchema },
      handler: ({ principal, params, body }) => editor.updateSnippet(principal, params.id, body),
    }),
    adminRoute({
      method: 'delete',
      path: '/sql/snippets/:id',
      summary: 'Delete an SQL snippet',
      params: sqlSnippetParamsSchema,
      responses: { 200: deletedResponseSchema },
      handler: ({ params }) => editor.deleteSnippet(params.id),
    }),
    adminRoute({
      method: 'get',
      path: '/sql/history',
      summary: 'Raw SQL runs, newest first (?status=, ?search=, paged; the newest 1000 are kept)',
      query: listSqlHistoryQuerySchema,
      responses: { 200: listSqlHistoryResponseSchema },
      handler: ({ query }) => editor.listHistory(query),
    }),
    adminRoute({
      method: 'delete',
      path: '/sql/history',
      summary: 'Clear the SQL history',
      responses: { 200: clearedResponseSchema },
      handler: () => editor.clearHistory(),
    }),
    adminRoute({
      method: 'post',
      path: '/advisor/fix',
      summary:
        "Apply an advisor finding's fix by finding id (its fixSql, in one transaction unless the finding says transactional: false)",
      body: advisorFixRequestSchema,
      responses: { 200: advisorFixResponseSchema },
      handler: async ({ body }) => {
        const { id, ...thresholds } = body;
        const result = await advisorFix(db, cache.exposedSchemas, id, thresholds);
        await cache.reload();
        return result;
      },
    }),
  ];
}
