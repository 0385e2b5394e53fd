/**
 * A description of the whole project for humans and AI agents: tables with their columns and
 * relationships, database functions, auth settings (buckets, edge functions and realtime channels
 * join as those areas land). Served as JSON or Markdown by GET /api/metadata.
 */
import type { Database } from '../core/db.js';
import type { AuthService } from '../auth/service.js';
import type { SchemaCache } from '../database/records/schema-cache.js';
import type { OAuthService } from '../auth/oauth.js';
import type { Mailer } from '../email/mailer.js';
import { realtimePermissions } from '../realtime/admin.js';

/** What the description reads from other areas. */
export interface DescribeSources {
  oauth: Pick<OAuthService, 'enabledKeys'>;
  mailer: Pick<Mailer, 'describe'>;
}

/**
 * The exposed schemas' tables (columns, relationships, estimated rows), database functions and
 * size. GET /api/metadata and GET /api/metadata/database.
 */
export async function describeDatabase(db: Database, cache: SchemaCache) {
  const [counts, size] = await Promise.all([
    db.query<{ schema: string; name: string; estimate: number; rls: boolean }>(
      `SELECT n.nspname AS schema, c.relname AS name, greatest(c.reltuples, 0)::bigint::float8 AS estimate, c.relrowsecurity AS rls
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p')`,
      [cache.exposedSchemas],
    ),
    db.query<{ bytes: string }>('SELECT pg_database_size(current_database())::text AS bytes'),
  ]);
  const stats = new Map(counts.rows.map((r) => [`${r.schema}.${r.name}`, r]));
  const snapshot = cache.current;
  const tables = [...snapshot.tables.values()]
    .sort((a, b) => `${a.schema}.${a.name}`.localeCompare(`${b.schema}.${b.name}`))
    .map((t) => {
      const s = stats.get(`${t.schema}.${t.name}`);
      return {
        schemaName: t.schema,
        tableName: t.name,
        kind: t.kind,
        recordCount: Math.round(s?.estimate ?? 0),
        rlsEnabled: s?.rls ?? false,
        primaryKey: t.primaryKey,
        columns: [...t.columns.values()].map((c) => ({
          columnName: c.name,
          type: c.type,
          isNullable: c.nullable,
          defaultValue: c.defaultExpr,
          ...(c.enumValues ? { values: c.enumValues } : {}),
        })),
        relationships: cache.relationshipsFrom(t).map((r) => ({
          name: r.target.name,
          cardinality: r.cardinality,
          via: r.junction ? r.junction.table.name : r.constraint,
        })),
      };
    });
  const functions = [...snapshot.functions.values()].flat().map((f) => ({
    schemaName: f.schema,
    functionName: f.name,
    arguments: f.args.map((a) => `${a.name} ${a.type}${a.hasDefault ? ' (optional)' : ''}`),
    returns: f.returnsSet ? `setof ${f.returnType}` : f.returnType,
  }));
  return {
    exposedSchemas: cache.exposedSchemas,
    tables,
    functions,
    totalSizeInGB: Number(size.rows[0]?.bytes ?? 0) / 1024 ** 3,
  };
}

export async function describeProject(
  db: Database,
  cache: SchemaCache,
  auth: AuthService,
  version: string,
  sources: DescribeSources,
) {
  const [config, database, providers, smtpConfig, permissions] = await Promise.all([
    auth.getConfig(),
    describeDatabase(db, cache),
    sources.oauth.enabledKeys(),
    sources.mailer.describe(),
    realtimePermissions(db),
  ]);
  const { createdAt: _c, updatedAt: _u, ...authConfig } = config;
  return {
    version,
    auth: {
      oAuthProviders: providers.builtIn,
      customOAuthProviders: providers.custom,
      ...authConfig,
      smtpConfig,
    },
    database,
    storage: { buckets: [] as unknown[], totalSizeInGB: 0 },
    functions: [] as unknown[],
    realtime: { channels: [] as unknown[], permissions },
  };
}

type Metadata = Awaited<ReturnType<typeof describeProject>>;

export function toMarkdown(m: Metadata): string {
  const lines: string[] = [`# Kiln project (version ${m.version})`, ''];
  lines.push(
    '## Database',
    '',
    `Exposed schemas: ${m.database.exposedSchemas.join(', ')}. Rows are read and written at \`/api/database/records/<table>\` (PostgREST protocol).`,
    '',
  );
  for (const t of m.database.tables) {
    lines.push(
      `### ${t.schemaName}.${t.tableName} (${t.kind}, ~${t.recordCount} rows${t.rlsEnabled ? ', RLS on' : ''})`,
      '',
    );
    lines.push('| column | type | nullable | default |', '|---|---|---|---|');
    for (const c of t.columns) {
      const type = c.values ? `${c.type} (${c.values.join(' / ')})` : c.type;
      lines.push(
        `| ${c.columnName}${t.primaryKey.includes(c.columnName) ? ' (pk)' : ''} | ${type} | ${c.isNullable ? 'yes' : 'no'} | ${c.defaultValue ?? ''} |`,
      );
    }
    if (t.relationships.length) {
      lines.push(
        '',
        `Embeds: ${t.relationships.map((r) => `${r.name} (${r.cardinality} via ${r.via})`).join(', ')}`,
      );
    }
    lines.push('');
  }
  if (m.database.functions.length) {
    lines.push('## Database functions (`/api/database/rpc/<name>`)', '');
    for (const f of m.database.functions)
      lines.push(
        `- \`${f.schemaName}.${f.functionName}(${f.arguments.join(', ')})\` → ${f.returns}`,
      );
    lines.push('');
  }
  const a = m.auth;
  lines.push(
    '## Auth',
    '',
    `- Sign-up ${a.disableSignup ? 'disabled' : 'open'}; email verification ${a.requireEmailVerification ? `required (${a.verifyEmailMethod})` : 'not required'}`,
    `- Passwords: at least ${a.passwordMinLength} characters${a.requireNumber ? ', a number' : ''}${a.requireLowercase ? ', a lowercase letter' : ''}${a.requireUppercase ? ', an uppercase letter' : ''}${a.requireSpecialChar ? ', a special character' : ''}`,
    `- OAuth providers: ${a.oAuthProviders.length ? a.oAuthProviders.join(', ') : 'none'}`,
    '',
    '## Storage, functions, realtime',
    '',
    `- Buckets: ${m.storage.buckets.length}; edge functions: ${m.functions.length}; realtime channels: ${m.realtime.channels.length}`,
    '',
  );
  return lines.join('\n');
}
