/**
 * The lane (core/lane.ts) and the app answer next('route') / next('router') from a group's
 * middleware or a route's `before` alike: refused, with a message that says so, and the route's
 * handler never runs. Before, the lane ignored them and ran the handler while Express passed the
 * request on to whatever matched further on.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { route, RouteRegistry } from '../src/core/route.js';

const servers: http.Server[] = [];
let laned: string;
let plain: string;
const handled: string[] = [];

async function listen(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  const app = express();
  const registry = new RouteRegistry();
  const stamp: express.RequestHandler = (_req, res, next) => {
    res.setHeader('x-front', 'ran');
    // App-level middleware: next('route') is next(), in Express as in the lane.
    next('route');
  };
  const skip =
    (how: 'route' | 'router'): express.RequestHandler =>
    (req, _res, next) =>
      req.query.skip === how ? next(how as never) : next();
  const declare = (path: string, before: express.RequestHandler[]) =>
    route({
      method: 'get',
      path,
      summary: path,
      responses: { 200: { description: 'ok' } },
      before,
      handler: ({ req, res }) => {
        handled.push(req.originalUrl);
        res.json({ handled: true });
      },
    });
  app.use(stamp);
  const group = {
    tag: 'skips',
    access: 'anyone' as const,
    use: [skip('router')],
    routes: [declare('/things/:id', [skip('route')])],
  };
  registry.mount(app, '/api', group);
  app.use((_req, res) => void res.status(404).json({ error: 'NOT_FOUND' }));
  const finalError: express.ErrorRequestHandler = (err: Error, _req, res, _next) =>
    void res.status(500).json({ error: 'INTERNAL', message: err.message });
  app.use(finalError);
  const lane = registry.lane(app, group, { front: [stamp], finalError });
  laned = await listen((req, res) => {
    if (!lane(req, res)) app(req, res);
  });
  plain = await listen(app);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

describe("the lane and the app refuse next('route') / next('router') alike", () => {
  for (const how of ['route', 'router'] as const) {
    it(`next('${how}')`, async () => {
      for (const base of [laned, plain]) {
        handled.length = 0;
        const res = await fetch(`${base}/api/things/7?skip=${how}`);
        expect(res.status, base).toBe(500);
        expect(res.headers.get('x-front')).toBe('ran');
        const body = (await res.json()) as { message: string };
        expect(body.message).toContain(`next('${how}') is not supported`);
        expect(body.message).toContain('GET /api/things/7');
        expect(handled).toEqual([]);
      }
    });
  }

  it('a plain next() still reaches the handler on both', async () => {
    for (const base of [laned, plain]) {
      handled.length = 0;
      const res = await fetch(`${base}/api/things/7`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ handled: true });
      expect(handled).toEqual(['/api/things/7']);
    }
  });
});
