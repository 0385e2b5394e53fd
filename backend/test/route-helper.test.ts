/**
 * core/route.ts on its own, over real HTTP: input parsing, guards, replies, and the response
 * checks the harness turns on (a response that breaks its declaration answers 500
 * RESPONSE_CONTRACT_VIOLATION and is recorded).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorHandler } from '../src/core/errors.js';
import { createLogger } from '../src/core/logger.js';
import { reply, route, routeWith, RouteRegistry } from '../src/core/route.js';

const adminRoute = routeWith('admin');

const itemSchema = z.object({ id: z.number().int(), name: z.string() });

let server: http.Server;
let base: string;
const registry = new RouteRegistry({ checkResponses: true });

beforeAll(async () => {
  const app = express();
  app.use(express.json());
  // Stand-in for resolvePrincipal: a token "admin" is an admin, "user" a user.
  app.use((req, _res, next) => {
    const token = req.headers.authorization?.replace(/^Bearer /, '');
    req.auth =
      token === 'admin'
        ? {
            kind: 'principal',
            principal: {
              role: 'project_admin',
              credential: 'api_key',
              claims: { role: 'project_admin' },
            },
          }
        : token === 'user'
          ? {
              kind: 'principal',
              principal: {
                role: 'authenticated',
                sub: 'u1',
                credential: 'jwt',
                claims: { role: 'authenticated' },
              },
            }
          : { kind: 'none' };
    next();
  });
  registry.mount(app, '/items', {
    tag: 'items',
    access: 'anyone',
    routes: [
      route({
        method: 'get',
        path: '/:id',
        summary: 'One item',
        params: z.object({ id: z.coerce.number().int().min(1) }),
        query: z.object({ shape: z.enum(['good', 'bad', 'teapot', 'oops']).default('good') }),
        responses: { 200: itemSchema },
        errors: { 404: ['ITEM_NOT_FOUND'] },
        handler: ({ params, query }) => {
          if (query.shape === 'bad') return { id: params.id, name: 42 } as never;
          if (query.shape === 'teapot') return reply(418 as 200, { id: 1, name: 'x' });
          if (query.shape === 'oops') {
            throw Object.assign(new Error('x'), { status: 404 }) as never;
          }
          return { id: params.id, name: `item ${params.id}` };
        },
      }),
      // principal is a Principal here (not `| undefined`): the access is fixed to admin.
      adminRoute({
        method: 'post',
        path: '/',
        summary: 'Create',
        body: z.object({ name: z.string().min(1) }),
        responses: { 201: itemSchema },
        handler: ({ body, principal }) => ({
          id: principal.role === 'project_admin' ? 7 : 0,
          name: body.name,
        }),
      }),
    ],
  });
  app.use(errorHandler(createLogger({ level: 'error', stdout: false })));
  server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function call(method: string, path: string, init: { token?: string; body?: unknown } = {}) {
  const res = await fetch(base + path, {
    method,
    headers: {
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.body ? { 'content-type': 'application/json' } : {}),
    },
    body: init.body ? JSON.stringify(init.body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('route()', () => {
  it('parses params and query into typed values and answers the first 2xx', async () => {
    expect(await call('GET', '/items/3')).toEqual({ status: 200, body: { id: 3, name: 'item 3' } });
    const created = await call('POST', '/items', { token: 'admin', body: { name: 'n' } });
    expect(created).toEqual({ status: 201, body: { id: 7, name: 'n' } });
  });

  it('turns a schema failure into the 400 INVALID_INPUT envelope, naming the field', async () => {
    const res = await call('GET', '/items/0');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'INVALID_INPUT', statusCode: 400 });
    expect(res.body.message).toMatch(/^id: /);
    const body = await call('POST', '/items', { token: 'admin', body: { name: '' } });
    expect(body.body).toMatchObject({ error: 'INVALID_INPUT' });
    expect(body.body.message).toMatch(/^name: /);
  });

  it('applies the access guard before parsing', async () => {
    expect((await call('POST', '/items', { body: { name: '' } })).body.error).toBe(
      'AUTH_INVALID_CREDENTIALS',
    );
    expect((await call('POST', '/items', { token: 'user', body: {} })).body.error).toBe(
      'AUTH_FORBIDDEN',
    );
  });

  it('test mode: a body that breaks its schema answers 500 RESPONSE_CONTRACT_VIOLATION', async () => {
    const before = registry.violations.length;
    const res = await call('GET', '/items/1?shape=bad');
    expect(res.status).toBe(500);
    expect(res.body.error).toBe('RESPONSE_CONTRACT_VIOLATION');
    expect(res.body.message).toContain('GET /items/:id answered 200');
    expect(res.body.message).toContain('name');
    expect(registry.violations.slice(before)).toEqual([
      expect.objectContaining({ route: 'GET /items/:id', status: 200 }),
    ]);
  });

  it('test mode: an undeclared status or error code is a violation too', async () => {
    const before = registry.violations.length;
    expect((await call('GET', '/items/1?shape=teapot')).body.error).toBe(
      'RESPONSE_CONTRACT_VIOLATION',
    );
    // 404 is declared, but with ITEM_NOT_FOUND only.
    const undeclared = await call('GET', '/items/1?shape=oops');
    expect(undeclared.body.error).toBe('RESPONSE_CONTRACT_VIOLATION');
    expect(undeclared.body.message).toContain('404 INVALID_REQUEST is not declared');
    expect(registry.violations.length - before).toBe(2);
    registry.violations.length = before;
  });

  it('registers every declaration with its full path, once', () => {
    expect(registry.routes.map((r) => `${r.method} ${r.path} ${r.openApiPath}`)).toEqual([
      'get /items/:id /items/{id}',
      'post /items /items',
    ]);
    expect(() =>
      registry.router('/items', {
        tag: 'items',
        access: 'anyone',
        routes: [
          route({
            method: 'post',
            path: '/',
            summary: 'again',
            responses: {},
            handler: () => undefined,
          }),
        ],
      }),
    ).toThrow(/declared twice/);
  });
});
