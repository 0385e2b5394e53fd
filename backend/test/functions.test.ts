import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminOnlyScenarios,
  describeScenarios,
  startTestApp,
  type Scenario,
  type TestApp,
} from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({}, { FUNCTION_TIMEOUT_MS: '2000', FUNCTION_MEMORY_MB: '64' });
});
afterAll(async () => {
  await t?.stop();
});

const admin = (method: string, p: string, body?: unknown) =>
  t.request(method, p, { token: t.apiKey, body });

async function deploy(slug: string, code: string, extra: Record<string, unknown> = {}) {
  const res = await admin('POST', '/api/functions', { name: `Fn ${slug}`, slug, code, ...extra });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.function;
}

const ECHO = `
export default async (req: Request): Promise<Response> => {
  const url = new URL(req.url);
  const body = req.method === 'GET' || req.method === 'HEAD' ? '' : await req.text();
  return Response.json(
    {
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      header: req.headers.get('x-custom'),
      authorization: req.headers.get('authorization'),
      body,
    },
    { status: 201, headers: { 'x-from-function': 'yes' } },
  );
};`;

describe('secrets', () => {
  it('stores values encrypted, masks them in lists, and guards reserved names', async () => {
    const created = await admin('POST', '/api/secrets', {
      key: 'STRIPE_KEY',
      value: 'sk_test_1234567890abcdef',
    });
    expect(created.status).toBe(201);
    // InsForge's clients read an id: the key names a secret in Kiln.
    expect(created.body).toMatchObject({ success: true, id: 'STRIPE_KEY', key: 'STRIPE_KEY' });
    // A second secret of the same name: 409 SECRET_EXISTS (the unique key's SQLSTATE, read once).
    const duplicate = await admin('POST', '/api/secrets', { key: 'STRIPE_KEY', value: 'x' });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toMatchObject({
      error: 'SECRET_EXISTS',
      statusCode: 409,
      message: 'A secret named "STRIPE_KEY" exists already',
    });
    const list = await admin('GET', '/api/secrets');
    const stripe = list.body.secrets.find((s: any) => s.key === 'STRIPE_KEY');
    expect(stripe).toMatchObject({
      id: 'STRIPE_KEY',
      maskedValue: '••••••••cdef',
      isActive: true,
      isReserved: false,
      lastUsedAt: null,
    });
    // Reserved secrets carry the project's set-up time (its first migration), not null.
    const reservedDates = list.body.secrets
      .filter((s: any) => s.isReserved)
      .map((s: any) => [s.id, s.createdAt, s.updatedAt]);
    const setUp = (
      await t.app.db.query<{ at: Date }>('SELECT min(run_on) AS at FROM system.migrations')
    ).rows[0]!.at.toISOString();
    expect(reservedDates).toContainEqual(['API_KEY', setUp, setUp]);
    expect(reservedDates.every(([, c, u]: string[]) => c === setUp && u === setUp)).toBe(true);
    expect(JSON.stringify(list.body)).not.toContain('sk_test_1234567890abcdef');
    expect(list.body.secrets.filter((s: any) => s.isReserved).map((s: any) => s.key)).toEqual([
      'INSFORGE_BASE_URL',
      'INSFORGE_INTERNAL_URL',
      'ANON_KEY',
      'API_KEY',
    ]);
    expect((await admin('GET', '/api/secrets/STRIPE_KEY')).body.value).toBe(
      'sk_test_1234567890abcdef',
    );

    // At rest: ciphertext only.
    const { rows } = await t.app.db.query(
      `SELECT value_encrypted FROM system.secrets WHERE key = 'STRIPE_KEY'`,
    );
    expect(rows[0]!.value_encrypted).toMatch(/^v1:/);
    expect(rows[0]!.value_encrypted).not.toContain('sk_test');

    expect((await admin('PUT', '/api/secrets/STRIPE_KEY', { value: 'sk_live_new' })).status).toBe(
      200,
    );
    expect((await admin('GET', '/api/secrets/STRIPE_KEY')).body.value).toBe('sk_live_new');
    for (const key of ['API_KEY', 'ANON_KEY']) {
      expect((await admin('DELETE', `/api/secrets/${key}`)).body.error).toBe('SECRET_RESERVED');
      expect((await admin('PUT', `/api/secrets/${key}`, { value: 'x' })).status).toBe(403);
    }
    expect((await admin('DELETE', '/api/secrets/STRIPE_KEY')).status).toBe(200);
    expect((await admin('DELETE', '/api/secrets/STRIPE_KEY')).status).toBe(404);
  });
});

describe('deploying', () => {
  it('validates slugs and reports Deno diagnostics on save', async () => {
    const bad = await admin('POST', '/api/functions', { name: 'x', slug: 'Bad Slug', code: ECHO });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('FUNCTION_INVALID_SLUG');

    const syntax = await admin('POST', '/api/functions', {
      name: 'broken',
      code: 'export default async (req: Request) => { return new Response("x"',
    });
    expect(syntax.status).toBe(400);
    expect(syntax.body.error).toBe('FUNCTION_INVALID_CODE');
    expect(syntax.body.message).toMatch(/Expected|expected|Unexpected|unexpected/);
    expect(syntax.body.diagnostics.name).toBeTruthy();

    const fn = await deploy('echo', ECHO, { description: 'echoes' });
    expect(fn).toMatchObject({ slug: 'echo', status: 'active', version: 1, description: 'echoes' });
    // A slug from the name when none is given.
    const named = await admin('POST', '/api/functions', { name: 'Hello World!', code: ECHO });
    expect(named.body.function.slug).toBe('hello-world');
    const list = await admin('GET', '/api/functions');
    expect(list.body.functions.map((f: any) => f.slug)).toEqual(
      expect.arrayContaining(['echo', 'hello-world']),
    );
    expect(list.body.functions[0].code).toBeUndefined();
    expect(list.body.runtime).toEqual({ provider: 'local', status: 'running' });
    expect((await admin('GET', '/api/functions/echo')).body.code).toBe(ECHO);
  });
});

describe('diagnostics', () => {
  it('gives the line and column of the failing spot, the module named by its slug', async () => {
    const syntax = await admin('POST', '/api/functions', {
      name: 'broken',
      slug: 'broken',
      code: 'export default async (req: Request) => {\n  const x = 1;\n  return new Response("x"\n',
    });
    expect(syntax.status).toBe(400);
    expect(syntax.body.diagnostics).toMatchObject({ line: 3, column: 26 });
    expect(syntax.body.message).toContain('broken.ts:3:26');
    expect(JSON.stringify(syntax.body)).not.toMatch(/base64|\\u001b/);

    // Thrown while the module runs (top level): the position comes from the stack.
    const thrown = await admin('POST', '/api/functions', {
      name: 'thrown',
      slug: 'thrown',
      code: 'const a = 1;\nnotDefined();\nexport default () => new Response("x");\n',
    });
    expect(thrown.status).toBe(400);
    expect(thrown.body.diagnostics).toMatchObject({
      name: 'ReferenceError',
      message: 'notDefined is not defined',
      line: 2,
      column: 1,
    });
    expect(thrown.body.diagnostics.stack).toContain('thrown.ts:2:1');

    // No position in the code: none given.
    const noDefault = await admin('POST', '/api/functions', {
      name: 'nodefault',
      code: 'export const x = 1;\n',
    });
    expect(noDefault.status).toBe(400);
    expect(noDefault.body.diagnostics.line).toBeUndefined();
  });
});

// Who may call the functions and secrets admin API, and its bad input (after `deploying`: the
// function `echo` exists).
const FUNCTIONS_ADMIN_ROUTES: Array<[Scenario['method'], string, unknown?]> = [
  ['GET', '/api/functions'],
  ['POST', '/api/functions', { name: 'x', slug: 'sneaky', code: ECHO }],
  ['GET', '/api/functions/echo'],
  ['PUT', '/api/functions/echo', { code: ECHO }],
  ['DELETE', '/api/functions/echo'],
  ['GET', '/api/secrets'],
  ['POST', '/api/secrets', { key: 'SNEAKY', value: 'x' }],
  ['GET', '/api/secrets/SNEAKY'],
];
const deployRow = (name: string, body: object, status: number, error: string): Scenario => ({
  name,
  as: 'apiKey',
  method: 'POST',
  path: '/api/functions',
  body,
  status,
  error,
});
describeScenarios('functions and secrets admin API: who may call, and bad input', () => t, [
  ...adminOnlyScenarios(FUNCTIONS_ADMIN_ROUTES),
  deployRow(
    'a slug with a space',
    { name: 'x', slug: 'Bad Slug', code: ECHO },
    400,
    'FUNCTION_INVALID_SLUG',
  ),
  deployRow(
    'a reserved slug',
    { name: 'x', slug: 'health', code: ECHO },
    400,
    'FUNCTION_INVALID_SLUG',
  ),
  deployRow('a slug that exists', { name: 'x', slug: 'echo', code: ECHO }, 409, 'FUNCTION_EXISTS'),
  {
    ...deployRow(
      'code without a default export',
      { name: 'no-default', code: 'export const handler = () => new Response("x");' },
      400,
      'FUNCTION_INVALID_CODE',
    ),
    expect: { message: expect.stringMatching(/default export/) },
  },
  {
    name: 'an unknown function',
    as: 'apiKey',
    method: 'GET',
    path: '/api/functions/missing',
    status: 404,
    error: 'FUNCTION_NOT_FOUND',
  },
  {
    name: 'a secret name with a dash',
    as: 'apiKey',
    method: 'POST',
    path: '/api/secrets',
    body: { key: 'bad-name', value: 'x' },
    status: 400,
    error: 'INVALID_INPUT',
  },
  {
    name: 'an empty secret',
    as: 'apiKey',
    method: 'POST',
    path: '/api/secrets',
    body: { key: 'EMPTY', value: '' },
    status: 400,
    error: 'INVALID_INPUT',
  },
  {
    name: 'an unknown secret',
    as: 'apiKey',
    method: 'GET',
    path: '/api/secrets/NOPE',
    status: 404,
    error: 'SECRET_NOT_FOUND',
  },
]);

describe('invoking', () => {
  it('passes method, path suffix, query, headers and body through, and the answer back', async () => {
    await deploy('echo2', ECHO);
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      const res = await fetch(`${t.baseUrl}/functions/echo2/a/b?x=1&y=two`, {
        method,
        headers: { 'x-custom': method.toLowerCase(), 'content-type': 'text/plain' },
        body: method === 'GET' ? undefined : `body of ${method}`,
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('x-from-function')).toBe('yes');
      expect(await res.json()).toEqual({
        method,
        path: '/functions/echo2/a/b',
        query: { x: '1', y: 'two' },
        header: method.toLowerCase(),
        authorization: null,
        body: method === 'GET' ? '' : `body of ${method}`,
      });
    }
  });

  it('works through @insforge/sdk functions.invoke with the caller’s token', async () => {
    await deploy('echo3', ECHO);
    const user = await t.signUpUser();
    const { data, error } = await user.client.functions.invoke('echo3', {
      body: { hello: 'world' },
    });
    expect(error).toBeNull();
    expect(data.method).toBe('POST');
    expect(JSON.parse(data.body)).toEqual({ hello: 'world' });
    expect(data.authorization).toBe(`Bearer ${user.accessToken}`);
    const get = await user.client.functions.invoke('echo3', { method: 'GET' });
    expect(get.data.method).toBe('GET');
  });

  it('answers 404 for unknown, draft and deleted functions', async () => {
    expect((await fetch(`${t.baseUrl}/functions/nothing-here`)).status).toBe(404);
    await deploy('drafty', ECHO, { status: 'draft' });
    const draft = await fetch(`${t.baseUrl}/functions/drafty`);
    expect(draft.status).toBe(404);
    expect((await draft.json()).error).toBe('FUNCTION_NOT_FOUND');
    expect((await admin('PUT', '/api/functions/drafty', { status: 'active' })).status).toBe(200);
    expect((await fetch(`${t.baseUrl}/functions/drafty`)).status).toBe(201);
    expect((await admin('DELETE', '/api/functions/drafty')).status).toBe(200);
    expect((await fetch(`${t.baseUrl}/functions/drafty`)).status).toBe(404);
  });

  it('runs new code on the next call after an update, and accepts module.exports', async () => {
    await deploy('versioned', 'export default () => new Response("v1");');
    expect(await (await fetch(`${t.baseUrl}/functions/versioned`)).text()).toBe('v1');
    const updated = await admin('PUT', '/api/functions/versioned', {
      code: 'module.exports = async function (req) { return new Response("v2 " + req.method); };',
    });
    expect(updated.body.function.version).toBe(2);
    expect(await (await fetch(`${t.baseUrl}/functions/versioned`)).text()).toBe('v2 GET');
    const broken = await admin('PUT', '/api/functions/versioned', { code: 'export default 42;' });
    expect(broken.status).toBe(400);
    expect(await (await fetch(`${t.baseUrl}/functions/versioned`)).text()).toBe('v2 GET');
  });
});

describe('environment and isolation', () => {
  it('sees its secrets (and changes to them) but no other environment, files or processes', async () => {
    await admin('POST', '/api/secrets', { key: 'GREETING', value: 'hello from a secret' });
    await admin('POST', '/api/secrets', {
      key: 'OLD_TOKEN',
      value: 'expired',
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    await admin('POST', '/api/secrets', { key: 'OFF', value: 'inactive' });
    await admin('PUT', '/api/secrets/OFF', { isActive: false });
    await deploy(
      'env',
      `export default async () => {
        const attempt = async (f: () => unknown) => {
          try { await f(); return 'allowed'; } catch (e) { return (e as Error).name; }
        };
        return Response.json({
          greeting: Deno.env.get('GREETING'),
          keys: Object.keys(Deno.env.toObject()).sort(),
          anonKey: Deno.env.get('ANON_KEY'),
          read: await attempt(() => Deno.readTextFile('/etc/passwd')),
          write: await attempt(() => Deno.writeTextFile('/tmp/kiln-fn-write', 'x')),
          run: await attempt(() => new Deno.Command('/bin/sh', { args: ['-c', 'id'] }).output()),
        });
      };`,
    );
    const res = await (await fetch(`${t.baseUrl}/functions/env`)).json();
    expect(res.greeting).toBe('hello from a secret');
    // No API_KEY: a function gets the project API key only when it opts in (apiKeyAccess).
    expect(res.keys).toEqual(
      ['ANON_KEY', 'GREETING', 'INSFORGE_BASE_URL', 'INSFORGE_INTERNAL_URL'].sort(),
    );
    expect(res.anonKey).toBe(t.anonKey);
    expect(res.read).toBe('NotCapable');
    expect(res.write).toBe('NotCapable');
    expect(res.run).toBe('NotCapable');
    expect(fs.existsSync('/tmp/kiln-fn-write')).toBe(false);

    await admin('PUT', '/api/secrets/GREETING', { value: 'changed' });
    expect((await (await fetch(`${t.baseUrl}/functions/env`)).json()).greeting).toBe('changed');
  });

  it('acts as the caller or as admin through npm:@insforge/sdk pointed back at Kiln', async () => {
    await deploy(
      'whoami',
      `import { createClient } from 'npm:@insforge/sdk@1.5.2';
      export default async (req: Request) => {
        const token = req.headers.get('Authorization')?.replace('Bearer ', '');
        const asCaller = createClient({
          baseUrl: Deno.env.get('INSFORGE_INTERNAL_URL'),
          anonKey: Deno.env.get('ANON_KEY'),
          isServerMode: true,
          accessToken: token,
        });
        const me = await asCaller.auth.getCurrentUser();
        // As admin: the project API key, which only admins' endpoints accept.
        const asAdmin = await fetch(Deno.env.get('INSFORGE_INTERNAL_URL') + '/api/secrets', {
          headers: { Authorization: 'Bearer ' + Deno.env.get('API_KEY') },
        });
        const secrets = await asAdmin.json();
        return Response.json({
          email: me.data?.user?.email ?? null,
          adminStatus: asAdmin.status,
          secretKeys: secrets.secrets?.map((s: { key: string }) => s.key),
        });
      };`,
      { apiKeyAccess: true },
    );
    const user = await t.signUpUser();
    const { data, error } = await user.client.functions.invoke('whoami', { body: {} });
    expect(error).toBeNull();
    expect(data.email).toBe(user.email);
    expect(data.adminStatus).toBe(200);
    expect(data.secretKeys).toContain('API_KEY');
    // Anonymous callers are who they are: no user.
    const anon = await fetch(`${t.baseUrl}/functions/whoami`, { method: 'POST' });
    expect((await anon.json()).email).toBeNull();
  }, 60_000);

  it('contains crashes, timeouts and infinite loops; others keep answering', async () => {
    await deploy('thrower', 'export default () => { throw new RangeError("boom"); };');
    const crash = await fetch(`${t.baseUrl}/functions/thrower`);
    expect(crash.status).toBe(502);
    expect(await crash.json()).toMatchObject({
      error: 'FUNCTION_ERROR',
      message: 'RangeError: boom',
      statusCode: 502,
    });

    await deploy('sleeper', 'export default () => new Promise(() => {});');
    await deploy('spinner', 'export default () => { for (;;) {} };');
    await deploy('ok', 'export default () => new Response("still fine");');
    const [slow, spin, fine] = await Promise.all([
      fetch(`${t.baseUrl}/functions/sleeper`),
      fetch(`${t.baseUrl}/functions/spinner`),
      new Promise((r) => setTimeout(r, 300)).then(() => fetch(`${t.baseUrl}/functions/ok`)),
    ]);
    expect(fine.status).toBe(200);
    expect(await fine.text()).toBe('still fine');
    expect(slow.status).toBe(504);
    expect((await slow.json()).error).toBe('FUNCTION_TIMEOUT');
    expect(spin.status).toBe(504);
    // The spinning process was stopped; the function starts afresh (and times out again).
    expect((await fetch(`${t.baseUrl}/functions/spinner`)).status).toBe(504);

    // What a function printed before it died is for the logs, not for whoever called it next.
    await deploy(
      'leaky',
      `export default (req: Request) => {
        console.error('charging card for victim@example.com with sk_live_SECRET123456');
        if (new URL(req.url).searchParams.has('crash')) Deno.exit(1);
        return new Response('paid');
      };`,
    );
    expect(await (await fetch(`${t.baseUrl}/functions/leaky`)).text()).toBe('paid');
    const crashed = await fetch(`${t.baseUrl}/functions/leaky?crash=1`);
    expect(crashed.status).toBe(502);
    const crashText = await crashed.text();
    expect(JSON.parse(crashText).error).toBe('FUNCTION_CRASHED');
    expect(crashText).not.toContain('sk_live');
    expect(crashText).not.toContain('victim@');
    expect(await (await fetch(`${t.baseUrl}/functions/ok`)).text()).toBe('still fine');
  }, 30_000);

  it('stops a memory bomb at the memory limit: 502 FUNCTION_CRASHED, not the time limit', async () => {
    // The bomb runs where the time limit is a minute, so only the 64 MB limit can stop it in
    // time (under the 2 s limit of the other tests, a loaded machine let the timeout win: 504).
    const roomy = await startTestApp(
      {},
      { FUNCTION_TIMEOUT_MS: '60000', FUNCTION_MEMORY_MB: '64' },
    );
    try {
      const res = await roomy.request('POST', '/api/functions', {
        token: roomy.apiKey,
        body: {
          name: 'Fn hog',
          slug: 'hog',
          code: `export default () => {
            // Large steps on the V8 heap: past the 64 MB limit at once, not after seconds of GC.
            const keep: number[][] = [];
            for (;;) keep.push(new Array(2e7).fill(1.5));
          };`,
        },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const hog = await fetch(`${roomy.baseUrl}/functions/hog`);
      expect(hog.status).toBe(502);
      expect((await hog.json()).error).toBe('FUNCTION_CRASHED');
    } finally {
      await roomy.stop();
    }
  }, 90_000);

  /** The function log's lines, once `done` holds for them (or after 20 s: a loaded machine). */
  async function functionLogLines(done: (lines: any[]) => boolean): Promise<any[]> {
    const file = path.join(t.dataDir, 'logs', 'functions.log');
    let lines: any[] = [];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      lines = fs.existsSync(file)
        ? fs
            .readFileSync(file, 'utf8')
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l))
        : [];
      if (done(lines)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return lines;
  }

  it('writes no runtime warning of its own for requests that read the body', async () => {
    await deploy(
      'quiet',
      'export default async (req: Request) => { console.error("got", await req.text()); return new Response("ok"); };',
    );
    for (const body of ['one', 'two']) {
      const res = await fetch(`${t.baseUrl}/functions/quiet`, { method: 'POST', body });
      expect(res.status).toBe(200);
      await res.text();
    }
    // Both console lines went through stderr after the first request completed, so anything the
    // runtime wrote about that request (on the same stream) is in the file before "got two".
    const lines = (
      await functionLogLines((all) => all.some((l) => l.message === 'got two'))
    ).filter((l) => l.slug === 'quiet' && l.message !== 'invocation');
    expect(lines.map((l) => l.message)).toEqual(['got one', 'got two']);
  });

  it('sends console output and each invocation to the function logs', async () => {
    await deploy(
      'chatty',
      'export default (req: Request) => { console.log("hello from chatty", req.method); return new Response("ok"); };',
    );
    expect((await fetch(`${t.baseUrl}/functions/chatty`, { method: 'PUT' })).status).toBe(200);
    // The console line comes through the process's stdout: it can trail the invocation record.
    const lines = await functionLogLines(
      (chatty) =>
        chatty.some((l) => l.slug === 'chatty' && l.message === 'invocation') &&
        chatty.some((l) => l.slug === 'chatty' && l.message === 'hello from chatty PUT'),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({
        source: 'function.logs',
        slug: 'chatty',
        message: 'hello from chatty PUT',
      }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({
        source: 'function.logs',
        slug: 'chatty',
        message: 'invocation',
        method: 'PUT',
        status: 200,
        durationMs: expect.any(Number),
      }),
    );
  });
});

describe('what a function is given (caller, keys, cookies) and how its answer is served', () => {
  const READ_ENV = `export default () => Response.json({
    apiKey: Deno.env.get('API_KEY') ?? null,
    anonKey: Deno.env.get('ANON_KEY') ?? null,
    baseUrl: Deno.env.get('INSFORGE_BASE_URL') ?? null,
  });`;

  it('has the anon key by default and the project API key only after opting in', async () => {
    const fn = await deploy('keyless', READ_ENV);
    expect(fn.apiKeyAccess).toBe(false);
    const plain = await (await fetch(`${t.baseUrl}/functions/keyless`)).json();
    expect(plain).toEqual({ apiKey: null, anonKey: t.anonKey, baseUrl: t.baseUrl });

    const bad = await admin('PUT', '/api/functions/keyless', { apiKeyAccess: 'yes' });
    expect(bad.status).toBe(400);
    const on = await admin('PUT', '/api/functions/keyless', { apiKeyAccess: true });
    expect(on.status).toBe(200);
    expect(on.body.function).toMatchObject({ apiKeyAccess: true, version: 2 });
    expect((await (await fetch(`${t.baseUrl}/functions/keyless`)).json()).apiKey).toBe(t.apiKey);

    const off = await admin('PUT', '/api/functions/keyless', { apiKeyAccess: false });
    expect(off.body.function).toMatchObject({ apiKeyAccess: false, version: 3 });
    expect((await (await fetch(`${t.baseUrl}/functions/keyless`)).json()).apiKey).toBeNull();

    // Opting in when the function is created.
    const keyed = await deploy('keyed', READ_ENV, { apiKeyAccess: true });
    expect(keyed.apiKeyAccess).toBe(true);
    expect((await (await fetch(`${t.baseUrl}/functions/keyed`)).json()).apiKey).toBe(t.apiKey);
  });

  it('receives the caller’s Authorization but none of Kiln’s cookies, and cannot set them', async () => {
    await deploy(
      'cookies',
      `export default (req: Request) => Response.json(
        { cookie: req.headers.get('cookie'), authorization: req.headers.get('authorization') },
        { headers: [
          ['set-cookie', 'insforge_refresh_token=planted; Path=/api/auth'],
          ['set-cookie', '__Host-kiln_session=planted; Path=/; Secure'],
          // Nameless: browsers send these back as "insforge_refresh_token=planted" (and the
          // bare name), which reads as Kiln's cookie.
          ['set-cookie', '=insforge_refresh_token=planted; Path=/api/auth/refresh'],
          ['set-cookie', ' = insforge_csrf_token=planted; Path=/'],
          ['set-cookie', 'insforge_csrf_token; Path=/'],
          ['set-cookie', 'fn_pref=dark; Path=/functions/cookies'],
        ] },
      );`,
    );
    // A real browser session: the refresh and CSRF cookies Kiln sets on sign-in.
    const user = await t.signUpUser();
    const signIn = await fetch(`${t.baseUrl}/api/auth/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: user.email, password: user.password }),
    });
    expect(signIn.status).toBe(200);
    const kilnCookies = signIn.headers.getSetCookie().map((c) => c.split(';')[0]!);
    expect(kilnCookies.map((c) => c.split('=')[0])).toEqual(
      expect.arrayContaining(['insforge_refresh_token', 'insforge_csrf_token']),
    );
    const res = await fetch(`${t.baseUrl}/functions/cookies`, {
      headers: {
        authorization: `Bearer ${user.accessToken}`,
        cookie: ['theme=light', ...kilnCookies, 'KILN_other=1', 'fn_pref=dark'].join('; '),
      },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      cookie: 'theme=light; fn_pref=dark',
      authorization: `Bearer ${user.accessToken}`,
    });
    expect(res.headers.getSetCookie()).toEqual(['fn_pref=dark; Path=/functions/cookies']);

    // Only Kiln cookies: no Cookie header at all.
    const only = await fetch(`${t.baseUrl}/functions/cookies`, {
      headers: { cookie: kilnCookies.join('; ') },
    });
    expect((await only.json()).cookie).toBeNull();
    // Every cookie Kiln itself sets is covered by the rule.
    const { REFRESH_COOKIE, CSRF_COOKIE } = await import('../src/auth/routes.js');
    const { KILN_COOKIE } = await import('../src/functions/routes.js');
    for (const name of [REFRESH_COOKIE, CSRF_COOKIE]) expect(name).toMatch(KILN_COOKIE);
  });

  it('answers with a sandboxing Content-Security-Policy unless the function sets its own', async () => {
    await deploy(
      'page',
      `export default () => new Response('<script>parent.document.cookie</script><p>hi</p>', {
        headers: { 'content-type': 'text/html' },
      });`,
    );
    const page = await fetch(`${t.baseUrl}/functions/page`);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/^sandbox\b/);
    expect(csp.split(';')[0]).not.toMatch(/allow-scripts|allow-same-origin/);
    expect(csp).toContain("default-src 'none'");
    expect(await page.text()).toContain('<p>hi</p>');
    // JSON answers (the usual API use) carry it too and read as before.
    const json = await fetch(`${t.baseUrl}/functions/keyless`);
    expect(json.headers.get('content-security-policy')).toBe(csp);
    expect((await json.json()).anonKey).toBe(t.anonKey);

    await deploy(
      'own-csp',
      `export default () => new Response('<p>mine</p>', {
        headers: { 'content-type': 'text/html', 'content-security-policy': "default-src 'self'" },
      });`,
    );
    const own = await fetch(`${t.baseUrl}/functions/own-csp`);
    expect(own.headers.get('content-security-policy')).toBe("default-src 'self'");
  });
});

describe('encryption key rotation', () => {
  it('re-seals secrets and project keys sealed with ENCRYPTION_KEY_PREVIOUS at start', async () => {
    const oldKey = 'old-encryption-key-0123456789abcdef0123';
    const newKey = 'new-encryption-key-0123456789abcdef0123';
    const first = await startTestApp({}, { ENCRYPTION_KEY: oldKey });
    try {
      const created = await first.request('POST', '/api/secrets', {
        token: first.apiKey,
        body: { key: 'ROTATE_ME', value: 'value-before-rotation' },
      });
      expect(created.status).toBe(201);
      const before = (
        await first.app.db.query(
          `SELECT value_encrypted FROM system.secrets WHERE key = 'ROTATE_ME'`,
        )
      ).rows[0]!.value_encrypted;

      const { createApp } = await import('../src/app.js');
      const { createLogger } = await import('../src/core/logger.js');
      const rotated = await createApp(
        { ...first.app.config, encryptionKey: newKey, encryptionKeyPrevious: oldKey },
        { logger: createLogger({ level: 'error', stdout: true }) },
      );
      try {
        const after = (
          await rotated.db.query(
            `SELECT value_encrypted FROM system.secrets WHERE key = 'ROTATE_ME'`,
          )
        ).rows[0]!.value_encrypted;
        expect(after).not.toBe(before);
        const { port } = await rotated.listen(0, '127.0.0.1');
        const read = await fetch(`http://127.0.0.1:${port}/api/secrets/ROTATE_ME`, {
          headers: { authorization: `Bearer ${first.apiKey}` },
        });
        expect((await read.json()).value).toBe('value-before-rotation');
        // The project keys were re-sealed too: the reserved values decrypt with the new key.
        const anon = await fetch(`http://127.0.0.1:${port}/api/secrets/ANON_KEY`, {
          headers: { authorization: `Bearer ${first.apiKey}` },
        });
        expect((await anon.json()).value).toBe(first.anonKey);
      } finally {
        await rotated.close();
      }
    } finally {
      await first.stop();
    }
  });
});

describe('process lifecycle', () => {
  /** Deno processes started for one app: their environment names that app's base URL. */
  const denoProcessesOf = (baseUrl: string) =>
    fs
      .readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((pid) => {
        try {
          return fs
            .readFileSync(`/proc/${pid}/environ`, 'utf8')
            .split('\0')
            .includes(`INSFORGE_BASE_URL=${baseUrl}`);
        } catch {
          return false;
        }
      });

  it('starts a Deno process per function, restarts one that died, and stops them all on shutdown', async () => {
    const app = await startTestApp();
    try {
      for (const slug of ['one', 'two']) {
        const res = await app.request('POST', '/api/functions', {
          token: app.apiKey,
          body: { name: slug, code: `export default () => new Response('${slug}');` },
        });
        expect(res.status).toBe(201);
        expect(await (await fetch(`${app.baseUrl}/functions/${slug}`)).text()).toBe(slug);
      }
      const pids = denoProcessesOf(app.baseUrl);
      expect(pids).toHaveLength(2);
      process.kill(Number(pids[0]), 'SIGKILL');
      // Awaited, not slept on: once this process has reaped the child (its /proc entry is gone),
      // the runtime has seen it exit.
      await expect
        .poll(() => fs.existsSync(`/proc/${pids[0]}`), { timeout: 20_000, interval: 25 })
        .toBe(false);
      expect(await (await fetch(`${app.baseUrl}/functions/one`)).text()).toBe('one');
      expect(await (await fetch(`${app.baseUrl}/functions/two`)).text()).toBe('two');
      expect(denoProcessesOf(app.baseUrl)).toHaveLength(2);
    } finally {
      await app.stop();
    }
    expect(denoProcessesOf(app.baseUrl)).toEqual([]);
  });
});
