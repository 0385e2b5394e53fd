/**
 * The route contract (issue 16): every route Express serves is declared with core/route.ts, so
 * /api/docs documents it and the harness checks its responses. While areas are being converted,
 * the routes still to do are listed in NOT_YET_DECLARED; the list may only shrink.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toOpenApiPath } from '../src/core/route.js';
import { startTestApp, type TestApp } from './helpers.js';

/** Routes Express serves that no declaration covers yet. Remove lines as areas convert. */
const NOT_YET_DECLARED: string[] = [];

interface Layer {
  rawPath?: string | string[];
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

function join(base: string, path: string): string {
  const joined = `${base.replace(/\/$/, '')}/${path.replace(/^\//, '')}`;
  return joined.length > 1 ? joined.replace(/\/$/, '') : '/';
}

/** Every `METHOD /path` in an Express 5 router stack, mounted routers included. */
function mountedRoutes(stack: Layer[], base = ''): string[] {
  const found: string[] = [];
  for (const layer of stack) {
    const paths = (p: string | string[] | undefined) => (Array.isArray(p) ? p : [p ?? '/']);
    if (layer.route) {
      // app.all(): Express 5 lists every method Node knows; one ALL entry stands for them.
      const methods = Object.keys(layer.route.methods);
      const all = methods.includes('_all') || methods.length >= http.METHODS.length;
      for (const path of paths(layer.route.path))
        for (const method of all ? ['ALL'] : methods.map((m) => m.toUpperCase()))
          found.push(`${method} ${join(base, path)}`);
    } else if (layer.handle?.stack) {
      for (const path of paths(layer.rawPath))
        found.push(...mountedRoutes(layer.handle.stack, join(base, path)));
    }
  }
  return found;
}

let t: TestApp;
let mounted: string[];
let declared: string[];

beforeAll(async () => {
  t = await startTestApp();
  const app = t.app.handler as unknown as { router: { stack: Layer[] } };
  mounted = [...new Set(mountedRoutes(app.router.stack))];
  declared = t.app.routes.routes.map((r) => `${r.method.toUpperCase()} ${r.path}`);
  // An ALL route (records, function invocation) is declared method by method.
  for (const r of mounted)
    if (r.startsWith('ALL ') && declared.some((d) => d.endsWith(` ${r.slice(4)}`)))
      declared.push(r);
});
afterAll(() => t?.stop());

describe('declared routes', () => {
  it('every mounted route is declared (or still listed in NOT_YET_DECLARED)', () => {
    const missing = mounted.filter((r) => !declared.includes(r) && !NOT_YET_DECLARED.includes(r));
    expect(missing).toEqual([]);
  });

  it('NOT_YET_DECLARED lists only mounted routes that are not declared (it only shrinks)', () => {
    expect(NOT_YET_DECLARED.filter((r) => declared.includes(r))).toEqual([]);
    expect(NOT_YET_DECLARED.filter((r) => !mounted.includes(r))).toEqual([]);
    expect(new Set(NOT_YET_DECLARED).size).toBe(NOT_YET_DECLARED.length);
  });

  it('every declaration is mounted where it says', () => {
    expect(declared.filter((r) => !mounted.includes(r))).toEqual([]);
  });
});

describe('/api/docs, generated from the declarations', () => {
  it('documents every declared route with its parameters, responses and error codes', async () => {
    const res = await t.request('GET', '/api/docs');
    expect(res.status).toBe(200);
    const doc = res.body;
    for (const r of t.app.routes.routes) {
      const op = doc.paths[toOpenApiPath(r.path)]?.[r.method];
      expect(op, `${r.method} ${r.path}`).toBeDefined();
      expect(op.summary).toBe(r.decl.summary);
      expect(Object.keys(op.responses).length).toBeGreaterThan(0);
    }
    const health = doc.paths['/api/health'].get;
    expect(health.security).toEqual([]);
    expect(health.responses['200'].content['application/json'].schema.required).toEqual(
      expect.arrayContaining(['status', 'version', 'service', 'timestamp']),
    );
    expect(doc.paths['/health/ready'].get.responses).toHaveProperty('503');
    // Errors are the shared envelope, narrowed to the codes the route may answer.
    expect(doc.components.schemas.Error.required).toEqual(['error', 'message', 'statusCode']);
    const internal = health.responses['500'].content['application/json'].schema;
    expect(internal.allOf[0]).toEqual({ $ref: '#/components/schemas/Error' });
    expect(internal.allOf[1].properties.error.enum).toContain('INTERNAL_ERROR');
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual([
      'anonKey',
      'apiKey',
      'bearer',
    ]);
  });

  it('is well formed: path parameters declared, references resolve, operation ids unique', async () => {
    const doc = (await t.request('GET', '/api/docs')).body;
    const ids = new Set<string>();
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const ref of new Set(refs)) {
      const target = ref.slice(8, -1).replace(/^#\//, '').split('/');
      expect(
        target.reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], doc),
        ref,
      ).toBeDefined();
    }
    for (const [path, operations] of Object.entries<Record<string, any>>(doc.paths)) {
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries<any>(operations)) {
        const where = `${method} ${path}`;
        const inPath = (op.parameters ?? []).filter((p: { in: string }) => p.in === 'path');
        expect(inPath.map((p: { name: string }) => p.name).sort(), where).toEqual(names.sort());
        expect(Object.keys(op.responses).length, where).toBeGreaterThan(0);
        if (op.operationId) {
          expect(ids.has(op.operationId), where).toBe(false);
          ids.add(op.operationId);
        }
      }
    }
    expect(doc.paths['/api/secrets/{key}'].get.operationId).toBe('getApiSecretsByKey');
  });

  it('serves a readable reference page and its script from this server, under a CSP', async () => {
    const page = await fetch(`${t.baseUrl}/api/docs/reference`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    const html = await page.text();
    expect(html).toContain('data-url="/api/docs"');
    const src = /<script src="([^"]+)"/.exec(html)?.[1];
    expect(src).toBe('/api/docs/reference/scalar.js');
    const script = await fetch(`${t.baseUrl}${src}`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect((await script.text()).slice(0, 1000)).toContain('@scalar/api-reference');
  });
});
