import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import express, { type RequestHandler, type Router } from 'express';
import cors from 'cors';
import helmet from 'helmet';
import type { Logger } from './logger.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Takes `X-Request-Id` from the caller when sane, otherwise makes one; echoes it back. */
export const requestId: RequestHandler = (req, res, next) => {
  const given = req.get('x-request-id');
  req.requestId = given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
  res.setHeader('X-Request-Id', req.requestId);
  next();
};

/** One JSON line per request: id, method, path, status, duration, role. */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    let logged = false;
    const done = () => {
      if (logged) return;
      logged = true;
      if (!logger.isLevelEnabled('info')) return;
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info('request', {
        kind: 'access',
        requestId: req.requestId,
        method: req.method,
        path: req.originalUrl.split('?')[0],
        status: res.headersSent ? res.statusCode : 499,
        durationMs: Math.round(durationMs * 100) / 100,
        role: req.auth?.kind === 'principal' ? req.auth.principal.role : 'none',
        ip: req.ip,
        userAgent: req.get('user-agent'),
      });
    };
    res.on('finish', done);
    res.on('close', done);
    next();
  };
}

export function corsMiddleware(origins: '*' | string[]): RequestHandler {
  return cors({
    // '*' reflects the caller's origin so cookie-based refresh works from any app in development.
    origin: origins === '*' ? true : origins,
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
export function pageSecurityHeaders(): RequestHandler {
  return helmet({
    // Apps on other origins load files and call the API: allow cross-origin reads.
    crossOriginResourcePolicy: { policy: 'cross-origin' },
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
