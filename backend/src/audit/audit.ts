/**
 * The audit trail of admin actions. One mechanism: a middleware watches every successful
 * state-changing request made with admin credentials and records what it was (module, action,
 * target, a redacted summary of the input), so new admin endpoints are audited without each
 * route remembering to. Data traffic (records, RPC, storage objects, AI relays) is not an admin
 * action and is left out.
 */
import type { NextFunction, Request, Response } from 'express';
import { Router } from 'express';
import { z } from 'zod';
import type { Database } from '../core/db.js';
import type { Logger } from '../core/logger.js';
import { optionalPrincipal, requireAdmin } from '../core/auth/principal.js';
import { listPage } from '../core/paging.js';
import { auditSafe } from './redact.js';

type Rule = [method: string, path: RegExp, module: string, action: string];

/** Known admin actions; other admin writes are recorded as `<METHOD> <path>` in their module. */
const RULES: Rule[] = [
  ['POST', /^\/api\/database\/tables\/?$/, 'database', 'CREATE_TABLE'],
  ['PATCH', /^\/api\/database\/tables\/([^/]+)\/schema$/, 'database', 'ALTER_TABLE'],
  ['DELETE', /^\/api\/database\/tables\/([^/]+)$/, 'database', 'DROP_TABLE'],
  ['POST', /^\/api\/database\/advance\/rawsql/, 'database', 'RUN_SQL'],
  ['POST', /^\/api\/database\/advance\/import/, 'database', 'IMPORT_DATA'],
  ['POST', /^\/api\/database\/migrations/, 'database', 'APPLY_MIGRATION'],
  ['POST', /^\/api\/metadata\/(api|anon)-key\/rotate$/, 'auth', 'ROTATE_KEY'],
  ['POST', /^\/api\/auth\/users$/, 'auth', 'CREATE_USER'],
  ['DELETE', /^\/api\/auth\/users$/, 'auth', 'DELETE_USERS'],
  ['PUT', /^\/api\/auth\/config$/, 'auth', 'UPDATE_AUTH_CONFIG'],
  ['PUT', /^\/api\/auth\/smtp-config$/, 'email', 'UPDATE_SMTP_CONFIG'],
  ['PUT', /^\/api\/auth\/email-templates\/([^/]+)$/, 'email', 'UPDATE_EMAIL_TEMPLATE'],
  ['POST', /^\/api\/functions\/?$/, 'functions', 'CREATE_FUNCTION'],
  ['PUT', /^\/api\/functions\/([^/]+)$/, 'functions', 'UPDATE_FUNCTION'],
  ['DELETE', /^\/api\/functions\/([^/]+)$/, 'functions', 'DELETE_FUNCTION'],
  ['POST', /^\/api\/functions\/([^/]+)\/deploy$/, 'functions', 'DEPLOY_FUNCTION'],
  ['POST', /^\/api\/secrets\/?$/, 'secrets', 'CREATE_SECRET'],
  ['PUT', /^\/api\/secrets\/([^/]+)$/, 'secrets', 'UPDATE_SECRET'],
  ['DELETE', /^\/api\/secrets\/([^/]+)$/, 'secrets', 'DELETE_SECRET'],
  ['POST', /^\/api\/storage\/buckets\/?$/, 'storage', 'CREATE_BUCKET'],
  ['PATCH', /^\/api\/storage\/buckets\/([^/]+)$/, 'storage', 'UPDATE_BUCKET'],
  ['DELETE', /^\/api\/storage\/buckets\/([^/]+)$/, 'storage', 'DELETE_BUCKET'],
  ['POST', /^\/api\/realtime\/channels\/?$/, 'realtime', 'CREATE_CHANNEL'],
  ['PUT', /^\/api\/realtime\/channels\/([^/]+)$/, 'realtime', 'UPDATE_CHANNEL'],
  ['DELETE', /^\/api\/realtime\/channels\/([^/]+)$/, 'realtime', 'DELETE_CHANNEL'],
  ['PATCH', /^\/api\/realtime\/config$/, 'realtime', 'UPDATE_REALTIME_CONFIG'],
  ['PUT', /^\/api\/ai\/config$/, 'ai', 'UPDATE_AI_CONFIG'],
  // Recorded after the purge: the trail always says who emptied it, and when.
  ['DELETE', /^\/api\/logs\/audits\/?$/, 'logs', 'PURGE_AUDIT_LOG'],
];

/** Data traffic and sign-ins: not admin actions. */
const NOT_ACTIONS = [
  /^\/api\/database\/(records|rpc)\//,
  /^\/api\/storage\/buckets\/[^/]+\/(objects|upload-strategy|download-strategy|confirm-upload)/,
  /^\/api\/ai\/(chat|embeddings|image)/,
  /^\/api\/email\/send-raw/,
  /^\/api\/auth\/(admin\/)?sessions/,
  /^\/api\/auth\/(refresh|logout)/,
];

export class AuditLog {
  /** Records being written (after their responses finished); shutdown and tests wait for them. */
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
  ) {}

  /**
   * Writes one record. Every record's details pass through auditSafe() here, whoever calls:
   * statement text is kept, bound values, secret fields and secret-looking literals are not.
   */
  async record(entry: {
    actor: string;
    actorId?: string | null;
    action: string;
    module: string;
    details?: Record<string, unknown>;
    ip?: string | null;
  }): Promise<void> {
    await this.db
      .query(
        `INSERT INTO system.audit_log (actor, actor_id, action, module, details, ip)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [
          entry.actor,
          entry.actorId ?? null,
          entry.action,
          entry.module,
          JSON.stringify(auditSafe(entry.details ?? {})),
          entry.ip ?? null,
        ],
      )
      .catch((err: unknown) => this.logger.error('audit record failed', { error: String(err) }));
  }

  /** Resolves once every record started so far is written (or has failed and been logged). */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  /** Delete records older than the retention period. */
  async prune(retentionDays: number): Promise<number> {
    const { rowCount } = await this.db.query(
      `DELETE FROM system.audit_log WHERE created_at < now() - make_interval(days => $1)`,
      [retentionDays],
    );
    return rowCount ?? 0;
  }

  middleware() {
    return (req: Request, res: Response, next: NextFunction) => {
      if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
      // Express matches routes without regard to case (and to a trailing slash): so does this,
      // or /API/secrets would change a secret without a trace.
      const rawPath = req.path;
      const path = rawPath.toLowerCase();
      if (!path.startsWith('/api/') || NOT_ACTIONS.some((r) => r.test(path))) return next();
      res.on('finish', () => {
        if (res.statusCode >= 400) return;
        const principal = optionalPrincipal(req);
        if (principal?.role !== 'project_admin') return;
        const rule = RULES.find(([m, r]) => m === req.method && r.test(path));
        const target = rule ? rawPath.match(new RegExp(rule[1].source, 'i'))?.[1] : undefined;
        const written = this.record({
          actor:
            principal.email ??
            (principal.credential === 'api_key' ? 'api key' : (principal.sub ?? 'admin')),
          actorId: principal.sub ?? null,
          module: rule?.[2] ?? path.split('/')[2] ?? 'api',
          action: rule?.[3] ?? `${req.method} ${path}`,
          details: {
            method: req.method,
            path: rawPath,
            status: res.statusCode,
            ...(target ? { target: decodeURIComponent(target) } : {}),
            ...(req.body && typeof req.body === 'object' && !Array.isArray(req.body)
              ? { input: req.body as unknown }
              : {}),
          },
          ip: req.ip ?? null,
        });
        this.pending.add(written);
        void written.finally(() => this.pending.delete(written));
      });
      next();
    };
  }
}

const listQuery = z.object({
  actor: z.string().max(320).optional(),
  action: z.string().max(200).optional(),
  module: z.string().max(100).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

export function auditRoutes(db: Database, audit: AuditLog, retentionDays: number): Router {
  const router = Router();
  router.use(requireAdmin);
  router.get('/', async (req, res) => {
    const q = listQuery.parse(req.query);
    const where = `($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR action = $2)
      AND ($3::text IS NULL OR module = $3) AND ($4::timestamptz IS NULL OR created_at >= $4)
      AND ($5::timestamptz IS NULL OR created_at < $5)`;
    const params = [
      q.actor ?? null,
      q.action ?? null,
      q.module ?? null,
      q.from ?? null,
      q.to ?? null,
    ];
    const page = await listPage(db, {
      select: `id::text, actor, actor_id AS "actorId", action, module, details, ip,
               created_at AS "createdAt"`,
      from: 'system.audit_log',
      where,
      params,
      orderBy: 'created_at DESC, id DESC',
      limit: q.limit,
      offset: q.offset,
    });
    res.json({ data: page.rows, pagination: page.pagination });
  });
  router.get('/stats', async (req, res) => {
    const days = z.coerce.number().int().min(1).max(365).default(7).parse(req.query.days);
    const [byModule, byDay, total] = await Promise.all([
      db.query(
        `SELECT module, count(*)::int AS count FROM system.audit_log
          WHERE created_at > now() - make_interval(days => $1) GROUP BY module ORDER BY count DESC`,
        [days],
      ),
      db.query(
        `SELECT to_char(date_trunc('day', created_at), 'YYYY-MM-DD') AS day, count(*)::int AS count
           FROM system.audit_log WHERE created_at > now() - make_interval(days => $1)
          GROUP BY 1 ORDER BY 1`,
        [days],
      ),
      db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM system.audit_log WHERE created_at > now() - make_interval(days => $1)`,
        [days],
      ),
    ]);
    res.json({ days, total: total.rows[0]!.n, byModule: byModule.rows, byDay: byDay.rows });
  });
  router.delete('/', async (req, res) => {
    const before = z
      .object({ before: z.iso.datetime({ offset: true }).optional() })
      .parse(req.query).before;
    const deleted = before
      ? (await db.query('DELETE FROM system.audit_log WHERE created_at < $1', [before])).rowCount
      : await audit.prune(retentionDays);
    res.json({ deletedCount: deleted ?? 0 });
  });
  return router;
}
