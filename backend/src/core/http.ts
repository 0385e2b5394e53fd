import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import express, { type RequestHandler, type Router } from 'express';
import cors from 'cors';
import helmet from 'helmet';
import { AppError, RequestAbortedError } from './errors.js';
import { JsonNumber } from './json.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { runInRequestScope } from './request-scope.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Takes `X-Request-Id` from the caller when sane, otherwise makes one; echoes it back. */
export const requestId: RequestHandler = (req, res, next) => {
  const given = req.headers['x-request-id'];
  req.requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : crypto.randomUUID();
  res.setHeader('X-Request-Id', req.requestId);
  next();
};

/**
 * Gives the rest of the request (the database layer in particular) its scope: a signal that
 * aborts when the client hangs up before the answer is complete, the client's address and the
 * request id.
 */
export const requestScope: RequestHandler = (req, res, next) => {
  const hangUp = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) hangUp.abort(new RequestAbortedError());
  });
  runInRequestScope({ signal: hangUp.signal, ip: req.ip, requestId: req.requestId }, next);
};

/**
 * Why a request URL cannot be served, if it cannot: an encoded NUL (`%00`), or a path whose
 * percent-encoding is malformed (`%zz`, a cut UTF-8 sequence). PostgreSQL text cannot hold
 * U+0000, so no path segment, filter, name or key with one can mean anything; it would only
 * reach the database as a protocol error. A path that does not decode names nothing, and any
 * code decoding it (route parameters, static files, logs) would throw.
 */
export function urlProblem(url: string): string | undefined {
  if (!url.includes('%')) return undefined;
  if (/%00/i.test(url))
    return 'The URL contains a NUL character (%00), which no name or value can hold';
  const query = url.indexOf('?');
  try {
    decodeURIComponent(query < 0 ? url : url.slice(0, query));
  } catch {
    return 'The URL path has malformed percent-encoding';
  }
  return undefined;
}

/** Why a parsed JSON body cannot be used, if it cannot. */
export interface JsonProblem {
  kind: 'depth' | 'nul';
  message: string;
}

const nulProblem: JsonProblem = {
  kind: 'nul',
  message: 'The JSON body contains a NUL character (\\u0000), which PostgreSQL text cannot hold',
};

/**
 * Walks a parsed JSON body without recursion: nesting deeper than `maxDepth` (code that walks
 * it recursively, JSON.stringify included, would overflow the stack) or a NUL character in a key
 * or a string (PostgreSQL text and jsonb cannot hold U+0000).
 */
export function jsonProblem(body: unknown, maxDepth: number): JsonProblem | undefined {
  if (typeof body === 'string') return body.includes('\0') ? nulProblem : undefined;
  if (typeof body !== 'object' || body === null) return undefined;
  const stack: Array<[object, number]> = [[body, 1]];
  while (stack.length) {
    const [value, depth] = stack.pop()!;
    if (depth > maxDepth) {
      return {
        kind: 'depth',
        message: `The JSON body is nested deeper than ${maxDepth} levels`,
      };
    }
    const entries: Array<[string | undefined, unknown]> = Array.isArray(value)
      ? value.map((v) => [undefined, v])
      : Object.entries(value);
    for (const [key, child] of entries) {
      if (key?.includes('\0')) return nulProblem;
      if (typeof child === 'string') {
        if (child.includes('\0')) return nulProblem;
      } else if (typeof child === 'object' && child !== null && !(child instanceof JsonNumber)) {
        stack.push([child, depth + 1]);
      }
    }
  }
  return undefined;
}

/** 400 for URLs with an encoded NUL (see urlProblem), in Kiln's envelope. */
export const rejectUnusableUrls: RequestHandler = (req, _res, next) => {
  const problem = urlProblem(req.originalUrl);
  next(problem ? new AppError(400, 'INVALID_INPUT', problem) : undefined);
};

/**
 * The JSON body parser every Kiln route uses: size limit, then the checks of jsonProblem, as a
 * 400 in Kiln's envelope (`INVALID_JSON` for nesting, `INVALID_INPUT` for NUL characters).
 */
export function jsonBody(options: { limit: string; maxDepth: number }): RequestHandler[] {
  return [
    express.json({ limit: options.limit, type: ['application/json', 'application/*+json'] }),
    (req, _res, next) => {
      const problem = jsonProblem(req.body, options.maxDepth);
      if (!problem) return next();
      next(
        new AppError(
          400,
          problem.kind === 'depth' ? 'INVALID_JSON' : 'INVALID_INPUT',
          problem.message,
        ),
      );
    },
  ];
}

/**
 * One JSON line per request: id, method, path, status, duration, role. A route whose path carries
 * a secret (an incoming webhook's secret URL) sets `res.locals.logPath` to what may be logged.
 * The same timing feeds `metrics` (core/metrics.ts) when given: one clock reading at the end, one
 * histogram observation.
 */
export function accessLog(logger: Logger, metrics?: Metrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    // Read now: once a response closes its connection (Connection: close after a refused
    // upload), the request has no socket left and req.ip would throw in the listener.
    const ip = req.ip;
    let logged = false;
    const done = () => {
      if (logged) return;
      logged = true;
      const logging = logger.isLevelEnabled('info');
      if (!logging && !metrics) return;
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const status = res.headersSent ? res.statusCode : 499;
      metrics?.observeRequest(
        req.method,
        (res.locals as { routeLabel?: string }).routeLabel,
        status,
        durationMs / 1000,
      );
      if (!logging) return;
      logger.info('request', {
        kind: 'access',
        requestId: req.requestId,
        method: req.method,
        path: (res.locals.logPath as string | undefined) ?? req.originalUrl.split('?')[0],
        status,
        durationMs: Math.round(durationMs * 100) / 100,
        role: req.auth?.kind === 'principal' ? req.auth.principal.role : 'none',
        ip,
        userAgent: req.get('user-agent'),
      });
    };
    res.on('finish', done);
    res.on('close', done);
    next();
  };
}

/**
 * CORS with the allowed origins read per request from `origins` (a run-time setting: see
 * settings/runtime.ts), so a change applies without a restart.
 */
export function corsMiddleware(origins: () => Promise<'*' | string[]>): RequestHandler {
  return cors({
    // '*' reflects the caller's origin so cookie-based refresh works from any app in development.
    origin: (_origin, callback) => {
      origins().then(
        (allowed) => callback(null, allowed === '*' || allowed.includes('*') ? true : allowed),
        (err: Error) => callback(err),
      );
    },
    credentials: true,
    exposedHeaders: [
      'Content-Range',
      'Preference-Applied',
      'X-Request-Id',
      'Content-Location',
      'Location',
    ],
    maxAge: 600,
  });
}

/** helmet's full set (CSP and friends), for the HTML apps. */
export function pageSecurityHeaders(
  options: { imagesFromAnywhere?: boolean } = {},
): RequestHandler {
  return helmet({
    // Apps on other origins load files and call the API: allow cross-origin reads.
    crossOriginResourcePolicy: { policy: 'cross-origin' },
    // The hosted auth pages show the project's logo and users' pictures from any https URL.
    ...(options.imagesFromAnywhere
      ? { contentSecurityPolicy: { directives: { imgSrc: ["'self'", 'data:', 'https:'] } } }
      : {}),
  });
}

/**
 * JSON API responses: no HTML to protect, so the headers that matter are few. Kept small on
 * purpose, as every API response carries them.
 */
export const apiSecurityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
  next();
};

/**
 * Serves a built single-page app (frontend/ or auth/) under a path prefix, falling back to its
 * index.html for client-side routes. When it has not been built, says how to build it.
 */
export function spa(distDir: string, name: string): Router {
  const router = express.Router();
  const index = path.join(distDir, 'index.html');
  router.use(express.static(distDir, { index: false, maxAge: '1h', fallthrough: true }));
  router.use((req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (!fs.existsSync(index)) {
      res.status(503).type('text/plain').send(`The ${name} has not been built. Run "pnpm build".`);
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
  return router;
}
