/**
 * Admin-only database management, mounted at /api/database (after the records paths): tables,
 * catalog listings, the advisor, RLS policies, raw SQL, migrations, export and import.
 */
import type { Response } from 'express';
import {
  advisorQuerySchema,
  advisorResponseSchema,
  alterPolicyRequestSchema,
  alterTableRequestSchema,
  alterTableResponseSchema,
  bulkUpsertResponseSchema,
  bulkUpsertUploadSchema,
  catalogListSchema,
  createPolicyRequestSchema,
  createTableRequestSchema,
  createTableResponseSchema,
  databaseFunctionInfoSchema,
  databaseObjectsQuerySchema,
  databaseSchemaInfoSchema,
  describeTableResponseSchema,
  dropPolicyResponseSchema,
  dropTableQuerySchema,
  dropTableResponseSchema,
  enumInfoSchema,
  exportRequestSchema,
  extensionInfoSchema,
  grantInfoSchema,
  importResponseSchema,
  importUploadSchema,
  indexInfoSchema,
  listMigrationsResponseSchema,
  listTablesResponseSchema,
  migrationRequestSchema,
  migrationResultSchema,
  policyInfoSchema,
  policyParamsSchema,
  rawSqlRequestSchema,
  rawSqlResponseSchema,
  roleInfoSchema,
  tableParamsSchema,
  triggerInfoSchema,
  viewInfoSchema,
} from '@kiln/shared-schemas';
import { z } from 'zod';
import type { Database } from '../../core/db.js';
import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { routeWith, type ErrorMap, type RouteGroup } from '../../core/route.js';
import type { SchemaCache } from '../records/schema-cache.js';
import { advisorFindings } from './advisor.js';
import { ExportService } from './export.js';
import { ImportService } from './import.js';
import {
  listEnums,
  listExtensions,
  listFunctions,
  listGrants,
  listIndexes,
  listRoles,
  listSchemas,
  listTriggers,
  listViews,
} from './introspection.js';
import { PoliciesService } from './policies.js';
import { SqlRunner } from './sql-runner.js';
import { SqlEditorStore } from './snippets.js';
import { studioRoutes } from './studio-routes.js';
import { tablePreviewRoutes } from './table-preview.js';
import { TablesService } from './tables.js';

export interface DatabaseAdminOptions {
  rawSqlDefaultTimeoutMs: number;
  rawSqlMaxTimeoutMs: number;
  importMaxBytes: number;
  /** Deepest nesting a row of a JSON import may have (JSON_MAX_DEPTH, as for request bodies). */
  jsonMaxDepth: number;
  logger: Logger;
}

/** What any statement run for the caller may answer (core/errors.ts `appErrorFromPg`). */
const DATABASE_ERRORS: ErrorMap = {
  400: ['DATABASE_VALIDATION_ERROR', 'DATABASE_INVALID_PARAMETER', 'DATABASE_CONSTRAINT_VIOLATION'],
  403: ['DATABASE_PERMISSION_DENIED'],
  404: ['DATABASE_NOT_FOUND'],
  408: ['DATABASE_TIMEOUT'],
  409: ['DATABASE_DUPLICATE', 'DATABASE_CONSTRAINT_VIOLATION', 'DATABASE_CONFLICT'],
};

/** An upload streamed from multipart/form-data (core/multipart.ts). */
const UPLOAD_ERRORS: ErrorMap = {
  400: ['INVALID_MULTIPART', 'UPLOAD_INTERRUPTED'],
  415: ['INVALID_MULTIPART'],
};

const paged = <T>(data: T[]) => ({
  data,
  pagination: { offset: 0, limit: data.length, total: data.length },
});

const adminRoute = routeWith('admin');

export function databaseAdminRoutes(
  db: Database,
  cache: SchemaCache,
  options: DatabaseAdminOptions,
): RouteGroup {
  const tables = new TablesService(db, cache);
  const policies = new PoliciesService(db, tables, cache);
  const sql = new SqlRunner(db, cache.exposedSchemas, {
    defaultTimeoutMs: options.rawSqlDefaultTimeoutMs,
    maxTimeoutMs: options.rawSqlMaxTimeoutMs,
    maxRows: 10_000,
  });
  const editor = new SqlEditorStore(db, options.logger);
  const exporter = new ExportService(db, cache.exposedSchemas, options.logger);
  const importer = new ImportService(db, cache, tables, {
    maxBytes: options.importMaxBytes,
    jsonMaxDepth: options.jsonMaxDepth,
  });

  /** `?schema=`: that exposed schema (400 otherwise), or all of them. */
  const schemasOf = (schema: string | undefined): string[] =>
    schema ? [tables.schemaFor(schema)] : cache.exposedSchemas;

  /**
   * A catalog listing filtered by `?schema=` (and `?table=` where it applies), answered as
   * InsForge wraps its lists: `GET /indexes` → `{indexes: [...]}`.
   */
  const listing = <T extends z.ZodType>(
    key: string,
    summary: string,
    item: T,
    list: (schemas: string[], table: string | undefined) => Promise<z.input<T>[]>,
  ) =>
    adminRoute({
      method: 'get',
      path: `/${key}`,
      summary,
      query: databaseObjectsQuerySchema,
      responses: { 200: catalogListSchema(key, item) },
      handler: async ({ query }) => ({ [key]: await list(schemasOf(query.schema), query.table) }),
    });

  return {
    tag: 'database',
    access: 'admin',
    errors: DATABASE_ERRORS,
    routes: [
      // ---- tables ------------------------------------------------------------------------------
      adminRoute({
        method: 'get',
        path: '/tables',
        summary: 'List tables and views',
        query: databaseObjectsQuerySchema,
        responses: { 200: listTablesResponseSchema },
        handler: ({ query }) => tables.list(query.schema),
      }),
      adminRoute({
        method: 'post',
        path: '/tables',
        summary: 'Create a table (RLS on unless rlsEnabled: false)',
        body: createTableRequestSchema,
        responses: { 201: { description: 'Created', schema: createTableResponseSchema } },
        handler: ({ principal, body }) => tables.create(principal, body),
      }),
      adminRoute({
        method: 'get',
        path: '/tables/:table/schema',
        summary: 'Describe a table: columns, keys, constraints, indexes, policies, triggers',
        params: tableParamsSchema,
        query: databaseObjectsQuerySchema,
        responses: { 200: describeTableResponseSchema },
        handler: ({ params, query }) => tables.describe(query.schema, params.table),
      }),
      adminRoute({
        method: 'patch',
        path: '/tables/:table/schema',
        summary: 'Alter a table (columns, keys, constraints, indexes, name, RLS)',
        params: tableParamsSchema,
        query: databaseObjectsQuerySchema,
        body: alterTableRequestSchema,
        responses: { 200: alterTableResponseSchema },
        handler: ({ principal, params, query, body }) =>
          tables.alter(principal, query.schema, params.table, body),
      }),
      adminRoute({
        method: 'delete',
        path: '/tables/:table',
        summary: 'Drop a table (?cascade=true drops what depends on it too)',
        params: tableParamsSchema,
        query: dropTableQuerySchema,
        responses: { 200: dropTableResponseSchema },
        handler: ({ principal, params, query }) =>
          tables.drop(principal, query.schema, params.table, query.cascade),
      }),

      // ---- catalog -----------------------------------------------------------------------------
      adminRoute({
        method: 'get',
        path: '/schemas',
        summary: 'List schemas (Kiln’s own marked protected, the exposed ones marked)',
        responses: { 200: catalogListSchema('schemas', databaseSchemaInfoSchema) },
        handler: async () => ({ schemas: await listSchemas(db.pool, cache.exposedSchemas) }),
      }),
      listing('functions', 'List functions and procedures', databaseFunctionInfoSchema, (s) =>
        listFunctions(db.pool, s),
      ),
      listing('indexes', 'List indexes (?table=)', indexInfoSchema, (s, table) =>
        listIndexes(db.pool, s, table),
      ),
      listing('triggers', 'List triggers (?table=)', triggerInfoSchema, (s, table) =>
        listTriggers(db.pool, s, table),
      ),
      listing('views', 'List views and materialized views', viewInfoSchema, (s) =>
        listViews(db.pool, s),
      ),
      listing('enums', 'List enum types', enumInfoSchema, (s) => listEnums(db.pool, s)),
      adminRoute({
        method: 'get',
        path: '/extensions',
        summary: 'List available extensions (and the installed version)',
        responses: { 200: catalogListSchema('extensions', extensionInfoSchema) },
        handler: async () => ({ extensions: await listExtensions(db.pool) }),
      }),
      adminRoute({
        method: 'get',
        path: '/roles',
        summary: 'List database roles',
        responses: { 200: catalogListSchema('roles', roleInfoSchema) },
        handler: async () => ({ roles: await listRoles(db.pool) }),
      }),
      listing('grants', 'List table privileges per role (?table=)', grantInfoSchema, (s, table) =>
        listGrants(db.pool, s, table),
      ),

      // ---- advisor -----------------------------------------------------------------------------
      adminRoute({
        method: 'get',
        path: '/advisor',
        summary: 'Lint the exposed schemas: security, performance and health findings (?schema=)',
        query: advisorQuerySchema,
        responses: { 200: advisorResponseSchema },
        handler: async ({ query }) => {
          const { schema, table: _table, ...thresholds } = query;
          return paged(await advisorFindings(db.pool, schemasOf(schema), thresholds));
        },
      }),

      // ---- policies ----------------------------------------------------------------------------
      adminRoute({
        method: 'get',
        path: '/policies',
        summary: 'List RLS policies (?table=)',
        query: databaseObjectsQuerySchema,
        responses: { 200: catalogListSchema('policies', policyInfoSchema) },
        handler: async ({ query }) => ({
          policies: await policies.list(query.schema, query.table),
        }),
      }),
      adminRoute({
        method: 'post',
        path: '/policies',
        summary: 'Create an RLS policy',
        body: createPolicyRequestSchema,
        responses: { 201: { description: 'Created', schema: policyInfoSchema } },
        handler: async ({ principal, body, res }) => {
          const policy = await policies.create(principal, body);
          // Not found after creation (never seen): an empty 201, as before declarations.
          if (!policy) res.status(201).end();
          return policy;
        },
      }),
      adminRoute({
        method: 'patch',
        path: '/policies/:table/:policy',
        summary: 'Alter an RLS policy (roles, expressions, name)',
        params: policyParamsSchema,
        query: databaseObjectsQuerySchema,
        body: alterPolicyRequestSchema,
        responses: { 200: policyInfoSchema },
        handler: ({ principal, params, query, body }) =>
          policies.alter(principal, query.schema, params.table, params.policy, body),
      }),
      adminRoute({
        method: 'delete',
        path: '/policies/:table/:policy',
        summary: 'Drop an RLS policy',
        params: policyParamsSchema,
        query: databaseObjectsQuerySchema,
        responses: { 200: dropPolicyResponseSchema },
        handler: ({ principal, params, query }) =>
          policies.drop(principal, query.schema, params.table, params.policy),
      }),

      // ---- raw SQL and migrations --------------------------------------------------------------
      ...(['restricted', 'unrestricted'] as const).map((mode) =>
        adminRoute({
          method: 'post',
          path: mode === 'restricted' ? '/advance/rawsql' : '/advance/rawsql/unrestricted',
          summary:
            mode === 'restricted'
              ? 'Run SQL as project_admin (Kiln’s own schemas out of reach), in one transaction'
              : 'Run SQL as the database owner, in one transaction',
          body: rawSqlRequestSchema,
          responses: { 200: rawSqlResponseSchema },
          handler: async ({ principal, body }) => {
            const started = performance.now();
            const elapsed = () => Math.round(performance.now() - started);
            let result;
            try {
              result = await sql.rawSql(principal, body, mode);
            } catch (err) {
              const extra = err instanceof AppError ? err.extra : undefined;
              await editor.record(principal, {
                sql: body.query,
                mode,
                status: 'error',
                durationMs: elapsed(),
                rowCount: null,
                errorCode: err instanceof AppError ? err.code : 'INTERNAL_ERROR',
                errorMessage: err instanceof Error ? err.message : String(err),
                ...(typeof extra?.position === 'number' ? { errorPosition: extra.position } : {}),
              });
              throw err;
            }
            const durationMs = elapsed();
            await editor.record(principal, {
              sql: body.query,
              mode,
              status: 'success',
              durationMs,
              rowCount: result.rowCount,
            });
            // The statements may have changed the schema: the records API sees it next call.
            await cache.reload();
            return { ...result, durationMs };
          },
        }),
      ),
      ...studioRoutes(db, cache, editor),
      ...tablePreviewRoutes(db, cache),
      adminRoute({
        method: 'get',
        path: '/migrations',
        summary: 'Applied user migrations',
        responses: { 200: listMigrationsResponseSchema },
        handler: async () => ({ migrations: await sql.listMigrations() }),
      }),
      adminRoute({
        method: 'post',
        path: '/migrations',
        summary: 'Apply a migration (one transaction, recorded by version)',
        body: migrationRequestSchema,
        responses: { 201: { description: 'Applied', schema: migrationResultSchema } },
        handler: async ({ principal, body }) => {
          const result = await sql.migrate(principal, body, false);
          await cache.reload();
          return result;
        },
      }),
      adminRoute({
        method: 'post',
        path: '/migrations/dry-run',
        summary: 'Run a migration and roll it back: what it would change',
        body: migrationRequestSchema,
        responses: { 200: migrationResultSchema },
        handler: ({ principal, body }) => sql.migrate(principal, body, true),
      }),

      // ---- export / import ---------------------------------------------------------------------
      adminRoute({
        method: 'post',
        path: '/advance/export',
        summary: 'Export schema and data (streamed SQL or JSON, as an attachment)',
        // No body at all is the defaults.
        body: exportRequestSchema.nullish(),
        responses: {
          200: {
            description:
              'The export, streamed: application/sql (format sql) or application/json (format json)',
            content: ['text', 'json'],
            headers: { 'Content-Disposition': 'attachment; filename="kiln-export-….sql|json"' },
          },
        },
        handler: async ({ body, res }) => {
          await exporter.download(body ?? exportRequestSchema.parse({}), res as Response);
        },
      }),
      adminRoute({
        method: 'post',
        path: '/advance/import',
        summary: 'Import an SQL, CSV or JSON file (streamed; multipart: file, table, truncate)',
        bodyType: 'multipart',
        body: importUploadSchema,
        responses: { 200: importResponseSchema },
        errors: UPLOAD_ERRORS,
        handler: async ({ principal, req }) => {
          const result = await importer.upload(principal, req);
          await cache.reload();
          return result;
        },
      }),
      adminRoute({
        method: 'post',
        path: '/advance/bulk-upsert',
        summary: 'Upsert CSV or JSON rows (streamed; multipart: file, table, upsertKey)',
        bodyType: 'multipart',
        body: bulkUpsertUploadSchema,
        responses: { 200: bulkUpsertResponseSchema },
        errors: UPLOAD_ERRORS,
        handler: ({ principal, req }) => importer.bulkUpsertUpload(principal, req),
      }),
    ],
  };
}
