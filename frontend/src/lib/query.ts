/**
 * The query client and the query keys, one branch per area. An area's hooks build their keys
 * from its branch (`[...queryKeys.database.all, 'tables']`) so invalidating the branch refreshes
 * the whole area.
 */
import { QueryClient } from '@tanstack/react-query';
import { isApiError } from './api';

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      refetchOnWindowFocus: false,
      // Client errors (4xx) are answers, not glitches: do not retry them.
      retry: (count, err) =>
        count < 2 && !(isApiError(err) && err.status >= 400 && err.status < 500),
    },
  },
});

export const queryKeys = {
  health: ['health'] as const,
  session: {
    all: ['session'] as const,
    adminSessions: () => [...queryKeys.session.all, 'admin-sessions'] as const,
  },
  overview: {
    all: ['overview'] as const,
    metadata: () => [...queryKeys.overview.all, 'metadata'] as const,
    userCount: () => [...queryKeys.overview.all, 'user-count'] as const,
    audit: (limit: number) => [...queryKeys.overview.all, 'audit', limit] as const,
    key: (kind: 'api' | 'anon') => [...queryKeys.overview.all, 'key', kind] as const,
  },
  database: {
    all: ['database'] as const,
    tableStats: (schema?: string) => [...queryKeys.database.all, 'stats', schema ?? null] as const,
    table: (schema: string, table: string) =>
      [...queryKeys.database.all, 'table', schema, table] as const,
    rows: (schema: string, table: string) =>
      [...queryKeys.database.all, 'rows', schema, table] as const,
  },
  sql: {
    all: ['sql'] as const,
    schema: () => [...queryKeys.sql.all, 'schema'] as const,
    snippets: (search: string) => [...queryKeys.sql.all, 'snippets', search] as const,
    snippet: (id: string) => [...queryKeys.sql.all, 'snippet', id] as const,
    history: (status: string, offset: number) =>
      [...queryKeys.sql.all, 'history', status, offset] as const,
  },
  auth: {
    all: ['auth'] as const,
    users: (q: string, offset: number, limit: number) =>
      [...queryKeys.auth.all, 'users', { q, offset, limit }] as const,
    user: (id: string) => [...queryKeys.auth.all, 'user', id] as const,
    config: () => [...queryKeys.auth.all, 'config'] as const,
    oauth: () => [...queryKeys.auth.all, 'oauth'] as const,
    smtp: () => [...queryKeys.auth.all, 'smtp'] as const,
    templates: () => [...queryKeys.auth.all, 'templates'] as const,
  },
  storage: {
    all: ['storage'] as const,
    buckets: () => [...queryKeys.storage.all, 'buckets'] as const,
    objects: (bucket: string, q: { prefix: string; search: string; offset: number }) =>
      [...queryKeys.storage.all, 'objects', bucket, q] as const,
  },
  settings: {
    all: ['settings'] as const,
    detail: () => [...queryKeys.settings.all, 'detail'] as const,
    key: (kind: 'api' | 'anon') => [...queryKeys.settings.all, 'key', kind] as const,
  },
  advisor: {
    all: ['advisor'] as const,
    findings: () => [...queryKeys.advisor.all, 'findings'] as const,
  },
  realtime: {
    all: ['realtime'] as const,
    channels: () => [...queryKeys.realtime.all, 'channels'] as const,
    messages: (filters: object) => [...queryKeys.realtime.all, 'messages', filters] as const,
    stats: () => [...queryKeys.realtime.all, 'stats'] as const,
    deliveries: (filters: object) => [...queryKeys.realtime.all, 'deliveries', filters] as const,
    config: () => [...queryKeys.realtime.all, 'config'] as const,
    permissions: () => [...queryKeys.realtime.all, 'permissions'] as const,
  },
  payments: {
    all: ['payments'] as const,
    status: (provider: string) => [...queryKeys.payments.all, provider, 'status'] as const,
    webhook: (provider: string, env: string) =>
      [...queryKeys.payments.all, provider, env, 'webhook'] as const,
    catalog: (provider: string, env: string) =>
      [...queryKeys.payments.all, provider, env, 'catalog'] as const,
    list: (provider: string, env: string, kind: string, offset: number) =>
      [...queryKeys.payments.all, provider, env, kind, offset] as const,
  },
  backups: {
    all: ['backups'] as const,
    list: () => [...queryKeys.backups.all, 'list'] as const,
    job: (id: string) => [...queryKeys.backups.all, 'job', id] as const,
  },
  webhooks: {
    all: ['webhooks'] as const,
    endpoints: () => [...queryKeys.webhooks.all, 'endpoints'] as const,
    endpoint: (name: string) => [...queryKeys.webhooks.all, 'endpoint', name] as const,
    deliveries: (name: string, filters: object) =>
      [...queryKeys.webhooks.all, 'deliveries', name, filters] as const,
    delivery: (name: string, id: string) =>
      [...queryKeys.webhooks.all, 'delivery', name, id] as const,
  },
  ai: {
    all: ['ai'] as const,
    config: () => [...queryKeys.ai.all, 'config'] as const,
    models: () => [...queryKeys.ai.all, 'models'] as const,
    overview: (days: number) => [...queryKeys.ai.all, 'overview', days] as const,
  },
  logs: {
    all: ['logs'] as const,
    sources: () => [...queryKeys.logs.all, 'sources'] as const,
    lines: (filters: object) => [...queryKeys.logs.all, 'lines', filters] as const,
    audit: (filters: object) => [...queryKeys.logs.all, 'audit', filters] as const,
    volume: (range: string) => [...queryKeys.logs.all, 'volume', range] as const,
  },
  functions: {
    all: ['functions'] as const,
    list: () => [...queryKeys.functions.all, 'list'] as const,
    detail: (slug: string) => [...queryKeys.functions.all, 'detail', slug] as const,
    secrets: () => [...queryKeys.functions.all, 'secrets'] as const,
  },
  jobs: {
    all: ['jobs'] as const,
    queues: () => [...queryKeys.jobs.all, 'queues'] as const,
    list: (filters: object) => [...queryKeys.jobs.all, 'list', filters] as const,
    failures: () => [...queryKeys.jobs.all, 'failures'] as const,
    schedules: () => [...queryKeys.jobs.all, 'schedules'] as const,
    preview: (cron: string, tz: string) => [...queryKeys.jobs.all, 'preview', cron, tz] as const,
    logsAll: () => [...queryKeys.jobs.all, 'logs'] as const,
    logs: (id: string, offset: number) => [...queryKeys.jobs.all, 'logs', id, offset] as const,
  },
};
