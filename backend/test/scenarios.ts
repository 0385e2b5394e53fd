/**
 * Endpoint tests as tables of scenarios (issue 16): each row names who calls (`as`), what it sends
 * and exactly what it must get back; each row becomes its own `it(...)`, so a failure names the
 * row. Also the checks on issued credentials: access tokens by their decoded claims, opaque tokens
 * by their exact format.
 *
 *   describeScenarios('auth admin', () => t, [
 *     { name: 'a user lists users', as: 'user', method: 'GET', path: '/api/auth/users',
 *       status: 403, error: 'AUTH_PERMISSION_DENIED' },
 *     { name: 'the admin lists users', as: 'admin', method: 'GET', path: '/api/auth/users',
 *       query: { limit: 1 }, status: 200, expect: { pagination: { limit: 1 } } },
 *   ]);
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import type { TestApp } from './helpers.js';

/**
 * Who calls. `none` sends no credential; `anon` the anon key; `apiKey` the API key; `admin` an
 * admin session's access token; `user` and `otherUser` two users signed up once per app. A suite
 * may name more principals (see `principals` of `describeScenarios`); `{ token }` sends a literal
 * bearer token.
 */
export type Principal = 'none' | 'anon' | 'user' | 'otherUser' | 'admin' | 'apiKey';

export interface ScenarioResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON when the answer is JSON, the text otherwise. */
  body: any;
}

export interface ScenarioContext {
  t: TestApp;
  /** The bearer token of a principal (undefined for `none`). */
  token(as: string): Promise<string | undefined>;
  /** The signed-up `user` / `otherUser` (signed up on first use, once per app). */
  account(as: 'user' | 'otherUser'): Promise<Awaited<ReturnType<TestApp['signUpUser']>>>;
}

export interface Scenario<P extends string = Principal> {
  name: string;
  as: P | Principal | { token: string };
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The path, or a function of the context (for ids known only at run time). */
  path: string | ((ctx: ScenarioContext) => string | Promise<string>);
  query?: Record<string, string | number | boolean>;
  headers?: Record<string, string>;
  /** JSON (encoded), a string (sent as is, JSON content type), or FormData (multipart). */
  body?: unknown;
  /** The exact status. */
  status: number;
  /** The exact `error` code of the error envelope (its `statusCode` must equal `status`). */
  error?: string;
  /** A partial object the body must match, or a check of the answer. */
  expect?: object | ((res: ScenarioResponse, ctx: ScenarioContext) => unknown);
}

type PrincipalSource = (ctx: ScenarioContext) => string | undefined | Promise<string | undefined>;

const accounts = new WeakMap<
  TestApp,
  Map<string, Promise<Awaited<ReturnType<TestApp['signUpUser']>>>>
>();

/** The context scenarios of one app run in; `principals` adds or overrides named callers. */
export function scenarioContext(
  t: TestApp,
  principals: Record<string, PrincipalSource> = {},
): ScenarioContext {
  const ctx: ScenarioContext = {
    t,
    account(as) {
      let perApp = accounts.get(t);
      if (!perApp) accounts.set(t, (perApp = new Map()));
      let account = perApp.get(as);
      if (!account) perApp.set(as, (account = t.signUpUser()));
      return account;
    },
    async token(as) {
      const own = principals[as];
      if (own) return own(ctx);
      switch (as) {
        case 'none':
          return undefined;
        case 'anon':
          return t.anonKey;
        case 'apiKey':
          return t.apiKey;
        case 'admin':
          return t.adminToken();
        case 'user':
        case 'otherUser':
          return (await ctx.account(as)).accessToken;
        default:
          throw new Error(`unknown principal ${as}`);
      }
    },
  };
  return ctx;
}

/** Sends one scenario's request and returns the answer (no assertions). */
export async function sendScenario<P extends string>(
  ctx: ScenarioContext,
  s: Scenario<P>,
): Promise<ScenarioResponse> {
  const headers: Record<string, string> = { ...s.headers };
  const token = typeof s.as === 'object' ? s.as.token : await ctx.token(s.as);
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | FormData | undefined;
  if (s.body instanceof FormData) body = s.body;
  else if (s.body !== undefined) {
    body = typeof s.body === 'string' ? s.body : JSON.stringify(s.body);
    headers['content-type'] ??= 'application/json';
  }
  let path = typeof s.path === 'function' ? await s.path(ctx) : s.path;
  if (s.query) {
    const qs = new URLSearchParams(Object.entries(s.query).map(([k, v]) => [k, String(v)]));
    path += (path.includes('?') ? '&' : '?') + qs.toString();
  }
  const res = await fetch(ctx.t.baseUrl + path, { method: s.method, headers, body });
  const text = await res.text();
  const json = res.headers.get('content-type')?.includes('json') && text;
  return { status: res.status, headers: res.headers, body: json ? JSON.parse(text) : text };
}

/** Sends one scenario and checks its status, error code and expectation. */
export async function runScenario<P extends string>(
  ctx: ScenarioContext,
  s: Scenario<P>,
): Promise<ScenarioResponse> {
  const res = await sendScenario(ctx, s);
  const shown = typeof res.body === 'string' ? res.body.slice(0, 300) : JSON.stringify(res.body);
  expect(res.status, `${s.method} ${s.name}: ${shown}`).toBe(s.status);
  if (s.error !== undefined) {
    expect(res.body, s.name).toMatchObject({ error: s.error, statusCode: s.status });
  }
  if (typeof s.expect === 'function') await s.expect(res, ctx);
  else if (s.expect) expect(res.body, s.name).toMatchObject(s.expect);
  return res;
}

/** The name of a scenario's test: `<name> → <status>[ <error>]`. */
export function scenarioTitle(s: Scenario<string>): string {
  return `${s.name} → ${s.status}${s.error ? ` ${s.error}` : ''}`;
}

/**
 * The scenarios that prove routes are for admins only: for each `[method, path, body?]`, a
 * signed-in user and the anon key are refused with 403 AUTH_FORBIDDEN and no credential with 401
 * AUTH_INVALID_CREDENTIALS.
 */
export function adminOnlyScenarios(
  routes: ReadonlyArray<readonly [Scenario['method'], string, unknown?]>,
): Scenario[] {
  const callers = [
    ['user', 403, 'AUTH_FORBIDDEN'],
    ['anon', 403, 'AUTH_FORBIDDEN'],
    ['none', 401, 'AUTH_INVALID_CREDENTIALS'],
  ] as const;
  return routes.flatMap(([method, path, body]) =>
    callers.map(([as, status, error]) => ({
      name: `${as} ${method} ${path}`,
      as,
      method,
      path,
      ...(body !== undefined ? { body } : {}),
      status,
      error,
    })),
  );
}

/**
 * One `it` per scenario, in order, inside `describe(title)`. `app` is read when the tests run (the
 * app is usually started in beforeAll).
 */
export function describeScenarios<P extends string = Principal>(
  title: string,
  app: () => TestApp,
  scenarios: Scenario<P>[],
  principals: Record<string, PrincipalSource> = {},
): void {
  describe(title, () => {
    let ctx: ScenarioContext | undefined;
    const context = () => {
      const t = app();
      if (!ctx || ctx.t !== t) ctx = scenarioContext(t, principals);
      return ctx;
    };
    for (const s of scenarios) {
      it(scenarioTitle(s), async () => {
        await runScenario(context(), s);
      });
    }
  });
}

// ---- issued credentials ------------------------------------------------------------------------

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface ExpectedClaims {
  sub?: string;
  role?: 'authenticated' | 'project_admin';
  email?: string;
  aal?: 'aal1' | 'aal2';
  is_anonymous?: boolean;
  sid?: string;
}

/**
 * Checks an access token Kiln issued by its decoded claims: HS256, issuer `kiln`, a session id,
 * issued now and expiring in the future, and the claims given. Returns the claims.
 */
export function expectAccessToken(
  token: unknown,
  expected: ExpectedClaims = {},
): Record<string, any> {
  expect(token).toEqual(expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/));
  const header = decodeProtectedHeader(token as string);
  expect(header).toMatchObject({ alg: 'HS256', typ: 'JWT' });
  const claims = decodeJwt(token as string) as Record<string, any>;
  const now = Math.floor(Date.now() / 1000);
  const { is_anonymous: anonymous, ...rest } = expected;
  expect(claims).toMatchObject({
    iss: 'kiln',
    sub: expect.stringMatching(UUID),
    sid: expect.stringMatching(UUID),
    role: expect.stringMatching(/^(authenticated|project_admin)$/),
    ...rest,
    ...(anonymous ? { is_anonymous: true } : {}),
  });
  expect(claims.iat).toBeLessThanOrEqual(now + 1);
  expect(claims.iat).toBeGreaterThan(now - 600);
  expect(claims.exp).toBeGreaterThan(now);
  if (anonymous === false) expect(claims).not.toHaveProperty('is_anonymous');
  return claims;
}

/** 32 random bytes in base64url: refresh tokens, CSRF tokens (an HMAC-SHA256), one-time codes. */
export const OPAQUE_TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** Checks an opaque token's exact format (32 bytes, base64url) and returns it. */
export function expectOpaqueToken(token: unknown): string {
  expect(token).toEqual(expect.stringMatching(OPAQUE_TOKEN));
  return token as string;
}

/**
 * Checks the token of a sign-in waiting for its second factor: HS256, `typ: 'mfa'`, the user as
 * subject, a one-time id, valid now and for at most five minutes. Returns the claims.
 */
export function expectMfaToken(token: unknown, userId?: string): Record<string, any> {
  expect(token).toEqual(expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/));
  expect(decodeProtectedHeader(token as string)).toMatchObject({ alg: 'HS256' });
  const claims = decodeJwt(token as string) as Record<string, any>;
  const now = Math.floor(Date.now() / 1000);
  expect(claims).toMatchObject({
    typ: 'mfa',
    sub: userId ?? expect.stringMatching(UUID),
    jti: expect.stringMatching(UUID),
  });
  expect(claims).not.toHaveProperty('role');
  expect(claims.exp).toBeGreaterThan(now);
  expect(claims.exp).toBeLessThanOrEqual(now + 5 * 60 + 1);
  return claims;
}
