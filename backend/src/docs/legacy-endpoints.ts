/**
 * TRANSITIONAL: the hand-written entries of /api/docs for routes not yet declared with
 * `core/route.ts`. An area converted to declarations loses its entries here (the declared-routes
 * test fails while a declared route is still listed); when every area is declared this file goes.
 */
import type { z } from 'zod';
import {
  alterPolicyRequestSchema,
  alterTableRequestSchema,
  createPolicyRequestSchema,
  createTableRequestSchema,
  exportRequestSchema,
  migrationRequestSchema,
  rawSqlRequestSchema,
} from '@kiln/shared-schemas';

export type Auth = 'none' | 'any' | 'user' | 'admin';

export interface Endpoint {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head';
  path: string;
  summary: string;
  tag: string;
  auth: Auth;
  body?: z.ZodType;
  multipart?: boolean;
  parameters?: Array<{
    name: string;
    in: 'query' | 'path' | 'header';
    description: string;
    required?: boolean;
  }>;
}

export const LEGACY_ENDPOINTS: Endpoint[] = [
  {
    method: 'get',
    path: '/api/database/tables',
    summary: 'List tables and views',
    tag: 'database',
    auth: 'admin',
  },
  {
    method: 'post',
    path: '/api/database/tables',
    summary: 'Create a table',
    tag: 'database',
    auth: 'admin',
    body: createTableRequestSchema,
  },
  {
    method: 'get',
    path: '/api/database/tables/{table}/schema',
    summary: 'Describe a table',
    tag: 'database',
    auth: 'admin',
  },
  {
    method: 'patch',
    path: '/api/database/tables/{table}/schema',
    summary: 'Alter a table',
    tag: 'database',
    auth: 'admin',
    body: alterTableRequestSchema,
  },
  {
    method: 'delete',
    path: '/api/database/tables/{table}',
    summary: 'Drop a table (?cascade=true)',
    tag: 'database',
    auth: 'admin',
  },
  {
    method: 'get',
    path: '/api/database/advisor',
    summary: 'What anon and signed-in users reach without row-level security (?schema=)',
    tag: 'database',
    auth: 'admin',
  },
  ...(
    [
      'schemas',
      'functions',
      'indexes',
      'triggers',
      'views',
      'enums',
      'extensions',
      'roles',
      'grants',
      'policies',
    ] as const
  ).map((kind): Endpoint => ({
    method: 'get',
    path: `/api/database/${kind}`,
    summary: `List ${kind}`,
    tag: 'database',
    auth: 'admin',
  })),
  {
    method: 'post',
    path: '/api/database/policies',
    summary: 'Create an RLS policy',
    tag: 'database',
    auth: 'admin',
    body: createPolicyRequestSchema,
  },
  {
    method: 'patch',
    path: '/api/database/policies/{table}/{policy}',
    summary: 'Alter an RLS policy',
    tag: 'database',
    auth: 'admin',
    body: alterPolicyRequestSchema,
  },
  {
    method: 'delete',
    path: '/api/database/policies/{table}/{policy}',
    summary: 'Drop an RLS policy',
    tag: 'database',
    auth: 'admin',
  },
  {
    method: 'post',
    path: '/api/database/advance/rawsql',
    summary: 'Run SQL as project_admin (restricted)',
    tag: 'database',
    auth: 'admin',
    body: rawSqlRequestSchema,
  },
  {
    method: 'post',
    path: '/api/database/advance/rawsql/unrestricted',
    summary: 'Run SQL as the database owner',
    tag: 'database',
    auth: 'admin',
    body: rawSqlRequestSchema,
  },
  {
    method: 'get',
    path: '/api/database/migrations',
    summary: 'Applied user migrations',
    tag: 'database',
    auth: 'admin',
  },
  {
    method: 'post',
    path: '/api/database/migrations',
    summary: 'Apply a migration',
    tag: 'database',
    auth: 'admin',
    body: migrationRequestSchema,
  },
  {
    method: 'post',
    path: '/api/database/migrations/dry-run',
    summary: 'Run a migration and roll it back',
    tag: 'database',
    auth: 'admin',
    body: migrationRequestSchema,
  },
  {
    method: 'post',
    path: '/api/database/advance/export',
    summary: 'Export schema and data (streamed SQL or JSON)',
    tag: 'database',
    auth: 'admin',
    body: exportRequestSchema,
  },
  {
    method: 'post',
    path: '/api/database/advance/import',
    summary: 'Import an SQL, CSV or JSON file (multipart: file, table, truncate)',
    tag: 'database',
    auth: 'admin',
    multipart: true,
  },
  {
    method: 'post',
    path: '/api/database/advance/bulk-upsert',
    summary: 'Upsert CSV or JSON rows (multipart: file, table, upsertKey)',
    tag: 'database',
    auth: 'admin',
    multipart: true,
  },
];
