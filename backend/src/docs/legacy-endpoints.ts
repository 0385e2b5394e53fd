/**
 * TRANSITIONAL: the hand-written entries of /api/docs for routes not yet declared with
 * `core/route.ts`. An area converted to declarations loses its entries here (the declared-routes
 * test fails while a declared route is still listed); when every area is declared this file goes.
 */
import type { z } from 'zod';
import {
  adminSessionRequestSchema,
  alterPolicyRequestSchema,
  alterTableRequestSchema,
  createPolicyRequestSchema,
  createTableRequestSchema,
  deleteUsersRequestSchema,
  exportRequestSchema,
  migrationRequestSchema,
  rawSqlRequestSchema,
  signInRequestSchema,
  signUpRequestSchema,
  updateAuthConfigRequestSchema,
  updateProfileRequestSchema,
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
    method: 'post',
    path: '/api/auth/users',
    summary: 'Sign up (admin: create a user)',
    tag: 'auth',
    auth: 'none',
    body: signUpRequestSchema,
  },
  {
    method: 'post',
    path: '/api/auth/sessions',
    summary: 'Sign in with email and password',
    tag: 'auth',
    auth: 'none',
    body: signInRequestSchema,
  },
  {
    method: 'post',
    path: '/api/auth/refresh',
    summary: 'Exchange a refresh token (cookie + X-CSRF-Token, or body with client_type)',
    tag: 'auth',
    auth: 'none',
  },
  {
    method: 'post',
    path: '/api/auth/logout',
    summary: 'Revoke the session',
    tag: 'auth',
    auth: 'none',
  },
  {
    method: 'get',
    path: '/api/auth/sessions/current',
    summary: 'The signed-in user',
    tag: 'auth',
    auth: 'user',
  },
  {
    method: 'get',
    path: '/api/auth/profiles/{id}',
    summary: 'A user profile',
    tag: 'auth',
    auth: 'any',
  },
  {
    method: 'patch',
    path: '/api/auth/profiles/current',
    summary: 'Update my profile',
    tag: 'auth',
    auth: 'user',
    body: updateProfileRequestSchema,
  },
  {
    method: 'get',
    path: '/api/auth/public-config',
    summary: 'Password policy and sign-up settings',
    tag: 'auth',
    auth: 'none',
  },
  {
    method: 'post',
    path: '/api/auth/admin/sessions',
    summary:
      'Admin sign-in: a session (refresh cookie + CSRF token, or refreshToken with client_type)',
    tag: 'auth',
    auth: 'none',
    body: adminSessionRequestSchema,
  },
  {
    method: 'post',
    path: '/api/auth/admin/refresh',
    summary: 'Refresh the admin session (admin cookie + X-CSRF-Token, or body with client_type)',
    tag: 'auth',
    auth: 'none',
  },
  {
    method: 'post',
    path: '/api/auth/admin/logout',
    summary: 'End the admin session',
    tag: 'auth',
    auth: 'none',
  },
  {
    method: 'get',
    path: '/api/auth/admin/sessions',
    summary: 'Live admin sessions',
    tag: 'auth',
    auth: 'admin',
  },
  {
    method: 'delete',
    path: '/api/auth/admin/sessions/{id}',
    summary: 'Revoke an admin session (its access tokens stop at once)',
    tag: 'auth',
    auth: 'admin',
  },
  {
    method: 'get',
    path: '/api/auth/users',
    summary: 'List users (search, limit, offset)',
    tag: 'auth',
    auth: 'admin',
  },
  { method: 'get', path: '/api/auth/users/{id}', summary: 'A user', tag: 'auth', auth: 'admin' },
  {
    method: 'delete',
    path: '/api/auth/users',
    summary: 'Delete users',
    tag: 'auth',
    auth: 'admin',
    body: deleteUsersRequestSchema,
  },
  { method: 'get', path: '/api/auth/config', summary: 'Auth settings', tag: 'auth', auth: 'admin' },
  {
    method: 'put',
    path: '/api/auth/config',
    summary: 'Change auth settings',
    tag: 'auth',
    auth: 'admin',
    body: updateAuthConfigRequestSchema,
  },
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
