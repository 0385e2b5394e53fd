import { Router, type Request } from 'express';
import { z } from 'zod';
import {
  alterPolicyRequestSchema,
  alterTableRequestSchema,
  createPolicyRequestSchema,
  createTableRequestSchema,
  exportRequestSchema,
  migrationRequestSchema,
  rawSqlRequestSchema,
} from '@kiln/shared-schemas';
import type { Database } from '../../core/db.js';
import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { principalOf, requireAdmin } from '../../core/auth/principal.js';
import type { SchemaCache } from '../records/schema-cache.js';
import { advisorFindings } from './advisor.js';
import { ExportService } from './export.js';
import { ImportService, kindOf, rowsOf } from './import.js';
import { readMultipart } from '../../core/multipart.js';
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
import { TablesService } from './tables.js';

export interface DatabaseAdminOptions {
  rawSqlDefaultTimeoutMs: number;
  rawSqlMaxTimeoutMs: number;
  importMaxBytes: number;
  /** Deepest nesting a row of a JSON import may have (JSON_MAX_DEPTH, as for request bodies). */
  jsonMaxDepth: number;
  logger: Logger;
}

const schemaQuery = z.object({
  schema: z.string().max(63).optional(),
  table: z.string().max(63).optional(),
});
const bool = (v: unknown) => v === true || v === 'true' || v === '1';

/** Admin-only database management under /api/database (tables, introspection, SQL, import/export). */
export function databaseAdminRoutes(
  db: Database,
  cache: SchemaCache,
  options: DatabaseAdminOptions,
): Router {
  const router = Router();
  const tables = new TablesService(db, cache);
  const policies = new PoliciesService(db, tables, cache);
  const sql = new SqlRunner(db, cache.exposedSchemas, {
    defaultTimeoutMs: options.rawSqlDefaultTimeoutMs,
    maxTimeoutMs: options.rawSqlMaxTimeoutMs,
    maxRows: 10_000,
  });
  const exporter = new ExportService(db, cache.exposedSchemas);
  const importer = new ImportService(db, cache);
  router.use(requireAdmin);

  const schemasOf = (req: Request): string[] => {
    const { schema } = schemaQuery.parse(req.query);
    return schema ? [tables.schemaFor(schema)] : cache.exposedSchemas;
  };

  // ---- tables --------------------------------------------------------------------------------
  router.get('/tables', async (req, res) => {
    res.json(await tables.list(schemaQuery.parse(req.query).schema));
  });
  router.post('/tables', async (req, res) => {
    res
      .status(201)
      .json(await tables.create(principalOf(req), createTableRequestSchema.parse(req.body)));
  });
  router.get('/tables/:table/schema', async (req, res) => {
    res.json(await tables.describe(schemaQuery.parse(req.query).schema, String(req.params.table)));
  });
  router.patch('/tables/:table/schema', async (req, res) => {
    const body = alterTableRequestSchema.parse(req.body);
    res.json(
      await tables.alter(
        principalOf(req),
        schemaQuery.parse(req.query).schema,
        String(req.params.table),
        body,
      ),
    );
  });
  router.delete('/tables/:table', async (req, res) => {
    res.json(
      await tables.drop(
        principalOf(req),
        schemaQuery.parse(req.query).schema,
        String(req.params.table),
        bool(req.query.cascade),
      ),
    );
  });

  // ---- introspection -------------------------------------------------------------------------
  router.get('/schemas', async (_req, res) =>
    res.json(await listSchemas(db.pool, cache.exposedSchemas)),
  );
  router.get('/functions', async (req, res) =>
    res.json(await listFunctions(db.pool, schemasOf(req))),
  );
  router.get('/indexes', async (req, res) =>
    res.json(await listIndexes(db.pool, schemasOf(req), schemaQuery.parse(req.query).table)),
  );
  router.get('/triggers', async (req, res) =>
    res.json(await listTriggers(db.pool, schemasOf(req), schemaQuery.parse(req.query).table)),
  );
  router.get('/views', async (req, res) => res.json(await listViews(db.pool, schemasOf(req))));
  router.get('/enums', async (req, res) => res.json(await listEnums(db.pool, schemasOf(req))));
  router.get('/extensions', async (_req, res) => res.json(await listExtensions(db.pool)));
  router.get('/roles', async (_req, res) => res.json(await listRoles(db.pool)));
  router.get('/grants', async (req, res) =>
    res.json(await listGrants(db.pool, schemasOf(req), schemaQuery.parse(req.query).table)),
  );

  // ---- advisor -------------------------------------------------------------------------------
  // What anon and signed-in users reach without RLS (the dashboard's database advisor).
  router.get('/advisor', async (req, res) => {
    const data = await advisorFindings(db.pool, schemasOf(req));
    res.json({ data, pagination: { offset: 0, limit: data.length, total: data.length } });
  });

  // ---- policies ------------------------------------------------------------------------------
  router.get('/policies', async (req, res) => {
    const q = schemaQuery.parse(req.query);
    res.json(await policies.list(q.schema, q.table));
  });
  router.post('/policies', async (req, res) => {
    res
      .status(201)
      .json(await policies.create(principalOf(req), createPolicyRequestSchema.parse(req.body)));
  });
  router.patch('/policies/:table/:policy', async (req, res) => {
    const body = alterPolicyRequestSchema.parse(req.body);
    res.json(
      await policies.alter(
        principalOf(req),
        schemaQuery.parse(req.query).schema,
        String(req.params.table),
        String(req.params.policy),
        body,
      ),
    );
  });
  router.delete('/policies/:table/:policy', async (req, res) => {
    res.json(
      await policies.drop(
        principalOf(req),
        schemaQuery.parse(req.query).schema,
        String(req.params.table),
        String(req.params.policy),
      ),
    );
  });

  // ---- raw SQL and migrations ----------------------------------------------------------------
  router.post('/advance/rawsql', async (req, res) => {
    const result = await sql.rawSql(
      principalOf(req),
      rawSqlRequestSchema.parse(req.body),
      'restricted',
    );
    // The statements may have changed the schema: the records API must see it on the next call.
    await cache.reload();
    res.json(result);
  });
  router.post('/advance/rawsql/unrestricted', async (req, res) => {
    const result = await sql.rawSql(
      principalOf(req),
      rawSqlRequestSchema.parse(req.body),
      'unrestricted',
    );
    await cache.reload();
    res.json(result);
  });
  router.get('/migrations', async (_req, res) => {
    const data = await sql.listMigrations();
    res.json({ data, pagination: { offset: 0, limit: data.length, total: data.length } });
  });
  router.post('/migrations', async (req, res) => {
    const result = await sql.migrate(
      principalOf(req),
      migrationRequestSchema.parse(req.body),
      false,
    );
    await cache.reload();
    res.status(201).json(result);
  });
  router.post('/migrations/dry-run', async (req, res) => {
    res.json(await sql.migrate(principalOf(req), migrationRequestSchema.parse(req.body), true));
  });

  // ---- export / import -----------------------------------------------------------------------
  router.post('/advance/export', async (req, res) => {
    const body = exportRequestSchema.parse(req.body ?? {});
    const chosen = await exporter.resolveTables(body);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    res.setHeader(
      'Content-Type',
      body.format === 'sql' ? 'application/sql; charset=utf-8' : 'application/json; charset=utf-8',
    );
    res.setHeader(
      'Content-Disposition',
      `attachment; filename="kiln-export-${stamp}.${body.format}"`,
    );
    try {
      await exporter.stream(body, chosen, res);
      res.end();
    } catch (err) {
      // Headers are gone already: end the stream visibly broken rather than silently short.
      options.logger.error('export failed', { error: String(err) });
      res.destroy(err as Error);
    }
  });

  router.post('/advance/import', async (req, res) => {
    const principal = principalOf(req);
    const upload = await readMultipart(
      req,
      options.importMaxBytes,
      async (file, info, fields, ready) => {
        const kind = kindOf(info.filename, info.mimeType, fields.format);
        if (kind === 'sql') return { kind, ...(await importer.sqlFile(principal, file, ready)) };
        const table = importer.table(tables.schemaFor(fields.schema), fields.table);
        const result = await importer.appendRows(
          principal,
          table,
          rowsOf(file, kind, options.jsonMaxDepth),
          kind === 'csv',
          bool(fields.truncate),
          ready,
        );
        return { kind, statements: 1, tables: [table.name], ...result };
      },
    );
    await cache.reload();
    res.json({
      success: true,
      message: `Imported ${upload.result.rowsImported} rows from ${upload.filename}`,
      filename: upload.filename,
      fileSize: upload.size,
      format: upload.result.kind,
      tables: upload.result.tables,
      rowsImported: upload.result.rowsImported,
    });
  });

  router.post('/advance/bulk-upsert', async (req, res) => {
    const principal = principalOf(req);
    const upload = await readMultipart(
      req,
      options.importMaxBytes,
      async (file, info, fields, ready) => {
        const kind = kindOf(info.filename, info.mimeType, fields.format);
        if (kind === 'sql')
          throw new AppError(
            400,
            'DATABASE_INVALID_PARAMETER',
            'file: bulk upsert takes CSV or JSON',
          );
        const table = importer.table(tables.schemaFor(fields.schema), fields.table);
        const key = fields.upsertKey
          ? fields.upsertKey
              .split(',')
              .map((k) => k.trim())
              .filter(Boolean)
          : table.primaryKey;
        return {
          table: table.name,
          ...(await importer.bulkUpsert(
            principal,
            table,
            rowsOf(file, kind, options.jsonMaxDepth),
            kind === 'csv',
            key,
            ready,
          )),
        };
      },
    );
    const r = upload.result;
    res.json({
      success: r.failed === 0,
      message: `${r.inserted} inserted, ${r.updated} updated, ${r.failed} failed`,
      filename: upload.filename,
      ...r,
      rowsAffected: r.inserted + r.updated,
    });
  });

  return router;
}
