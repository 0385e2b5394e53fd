/**
 * Which requests are admin actions, and what to record of them. One mechanism: this middleware
 * watches every successful state-changing request made with admin credentials and records what it
 * was (module, action, target, a redacted summary of the input), so new admin endpoints are
 * audited without each route remembering to. Data traffic (records, RPC, storage objects, AI
 * relays) is not an admin action and is left out.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { optionalPrincipal } from '../core/auth/principal.js';
import type { Principal } from '../core/db.js';
import type { AuditLog } from './service.js';

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
  ['PATCH', /^\/api\/settings\/?$/, 'settings', 'UPDATE_SETTINGS'],
  // Recorded after the purge: the trail always says who emptied it, and when.
  ['DELETE', /^\/api\/logs\/audits\/?$/, 'logs', 'PURGE_AUDIT_LOG'],
];

/**
 * Admin actions their service records itself, once the action has ended (with its outcome): a
 * point-in-time restore replaces the database, so a record written when it was requested would
 * be rolled back by the restore itself (backups/service.ts records it in the restored database).
 */
const RECORDED_BY_THE_SERVICE = [/^\/api\/backups\/restore\/?$/];

/** Who an admin action's record names: the admin's email, "api key", or the token's subject. */
export function auditActor(principal: Principal): { actor: string; actorId: string | null } {
  return {
    actor:
      principal.email ??
      (principal.credential === 'api_key' ? 'api key' : (principal.sub ?? 'admin')),
    actorId: principal.sub ?? null,
  };
}

/** Data traffic and sign-ins: not admin actions. */
const NOT_ACTIONS = [
  /^\/api\/database\/(records|rpc)\//,
  /^\/api\/storage\/buckets\/[^/]+\/(objects|upload-strategy|download-strategy|confirm-upload)/,
  /^\/api\/ai\/(chat|embeddings|image)/,
  /^\/api\/email\/send-raw/,
  /^\/api\/auth\/(admin\/)?sessions/,
  /^\/api\/auth\/(refresh|logout)/,
];

export function auditTrail(audit: AuditLog): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    // Express matches routes without regard to case (and to a trailing slash): so does this,
    // or /API/secrets would change a secret without a trace.
    const rawPath = req.path;
    const path = rawPath.toLowerCase();
    if (!path.startsWith('/api/') || NOT_ACTIONS.some((r) => r.test(path))) return next();
    if (RECORDED_BY_THE_SERVICE.some((r) => r.test(path))) return next();
    res.on('finish', () => {
      if (res.statusCode >= 400) return;
      const principal = optionalPrincipal(req);
      if (principal?.role !== 'project_admin') return;
      const rule = RULES.find(([m, r]) => m === req.method && r.test(path));
      const target = rule ? rawPath.match(new RegExp(rule[1].source, 'i'))?.[1] : undefined;
      audit.recordInBackground({
        ...auditActor(principal),
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
    });
    next();
  };
}
