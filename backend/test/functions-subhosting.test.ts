import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSubhosting } from './fake-subhosting.js';
import { startTestApp, type TestApp } from './helpers.js';

let t: TestApp;
const fake = new FakeSubhosting();
beforeAll(async () => {
  await fake.start();
  t = await startTestApp(
    {},
    {
      DENO_SUBHOSTING_TOKEN: fake.token,
      DENO_SUBHOSTING_ORG_ID: fake.org,
      DENO_SUBHOSTING_API_URL: fake.url,
      DENO_SUBHOSTING_PROJECT: 'kiln-test',
      DENO_SUBHOSTING_POLL_MS: '20',
    },
  );
});
afterAll(async () => {
  await t?.stop();
  await fake.stop();
});

const admin = (method: string, p: string, body?: unknown) =>
  t.request(method, p, { token: t.apiKey, body });

async function settled(slug: string, want: string | ((d: any) => boolean)) {
  const ok = typeof want === 'string' ? (d: any) => d?.status === want : want;
  const deadline = Date.now() + 30_000; // a loaded machine
  for (;;) {
    const res = await admin('GET', `/api/functions/${slug}/deployment`);
    if (ok(res.body.deployment)) return res.body;
    if (Date.now() > deadline) throw new Error(`deployment: ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const CODE = 'export default (req: Request) => new Response("served by Deno Deploy");';

describe('Deno Subhosting provider', () => {
  it('deploys with secrets as env vars, routes invocations to the deployment, and reports status and build logs', async () => {
    await admin('POST', '/api/secrets', { key: 'GREETING', value: 'hi' });
    fake.hold = true;
    const created = await admin('POST', '/api/functions', {
      name: 'Hello',
      slug: 'hello',
      code: CODE,
    });
    expect(created.status).toBe(201);
    expect(created.body.function.deployment).toMatchObject({ status: 'pending', url: null });
    expect(fake.projects).toEqual([{ id: expect.any(String), name: 'kiln-test' }]);
    const deployment = [...fake.deployments.values()].at(-1)!;
    expect(deployment.assets['function.ts']!.content).toBe(CODE);
    expect(deployment.assets['main.ts']!.content).toContain('Deno.serve');
    // The project API key only for functions that opt in (apiKeyAccess).
    expect(Object.keys(deployment.envVars).sort()).toEqual(
      ['ANON_KEY', 'GREETING', 'INSFORGE_BASE_URL', 'INSFORGE_INTERNAL_URL'].sort(),
    );
    expect(deployment.envVars.INSFORGE_INTERNAL_URL).toBe(t.baseUrl);

    // Not up yet: a clear 503, not a hang.
    const early = await fetch(`${t.baseUrl}/functions/hello`);
    expect(early.status).toBe(503);
    expect((await early.json()).error).toBe('FUNCTION_NOT_DEPLOYED');

    fake.hold = false;
    const status = await settled('hello', 'success');
    expect(status.provider).toBe('subhosting');
    expect(status.deployment).toMatchObject({
      id: deployment.id,
      url: `http://${deployment.domain}`,
    });
    expect(status.buildLogs.map((l: any) => l.message)).toContain('Deployment complete');

    const user = await t.signUpUser();
    const { data, error } = await user.client.functions.invoke('hello', { body: { a: 1 } });
    expect(error).toBeNull();
    expect(data).toMatchObject({
      deploymentId: deployment.id,
      method: 'POST',
      path: '/functions/hello',
      authorization: `Bearer ${user.accessToken}`,
      greeting: 'hi',
    });
    const get = await (await fetch(`${t.baseUrl}/functions/hello/sub/path?x=1`)).json();
    expect(get).toMatchObject({ method: 'GET', path: '/functions/hello/sub/path?x=1' });
  });

  it('sends an absolute-form request line to the deployment, never to the host it names', async () => {
    // An "internal" server the request line points at.
    let reached = 0;
    const internal = http.createServer((_req, res) => {
      reached++;
      res.end('INTERNAL-SECRET');
    });
    await new Promise<void>((r) => internal.listen(0, '127.0.0.1', r));
    const { port } = internal.address() as net.AddressInfo;
    try {
      const kiln = new URL(t.baseUrl);
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(kiln.port), kiln.hostname, () =>
          socket.write(
            `GET http://127.0.0.1:${port}/functions/hello/meta?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
          ),
        );
        let data = '';
        socket.on('data', (d) => (data += d.toString()));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
      expect(answer).not.toContain('INTERNAL-SECRET');
      expect(answer).toContain('/functions/hello/meta?q=1');
      expect(reached).toBe(0);
    } finally {
      await new Promise<void>((r) => internal.close(() => r()));
    }
  });

  it('redeploys on code and secret changes, keeps the last good deployment when a build fails, and removes deployments', async () => {
    const first = (await settled('hello', 'success')).deployment;
    const updated = await admin('PUT', '/api/functions/hello', {
      code: CODE.replace('Deno Deploy', 'v2'),
    });
    expect(updated.status).toBe(200);
    const second = (await settled('hello', (d) => d?.status === 'success' && d.id !== first.id))
      .deployment;
    expect(fake.deployments.get(first.id)!.deleted).toBe(true);
    expect((await (await fetch(`${t.baseUrl}/functions/hello`)).json()).deploymentId).toBe(
      second.id,
    );

    // A failed build: the error is reported, the previous deployment keeps serving.
    await admin('PUT', '/api/functions/hello', { code: `${CODE} // FAIL_BUILD` });
    const failed = await settled('hello', (d) => Boolean(d?.error));
    expect(failed.deployment).toMatchObject({ id: second.id, status: 'success' });
    expect(failed.deployment.error).toMatch(/FAIL_BUILD/);
    expect((await (await fetch(`${t.baseUrl}/functions/hello`)).json()).deploymentId).toBe(
      second.id,
    );

    // A secret change redeploys with the new value.
    await admin('PUT', '/api/functions/hello', { code: CODE });
    const third = (
      await settled('hello', (d) => d?.status === 'success' && !d.error && d.id !== second.id)
    ).deployment;
    await admin('PUT', '/api/secrets/GREETING', { value: 'changed' });
    await settled('hello', (d) => d?.status === 'success' && d.id !== third.id);
    expect((await (await fetch(`${t.baseUrl}/functions/hello`)).json()).greeting).toBe('changed');

    const current = (await settled('hello', 'success')).deployment;
    expect((await admin('DELETE', '/api/functions/hello')).status).toBe(200);
    expect(fake.deployments.get(current.id)!.deleted).toBe(true);
    expect((await fetch(`${t.baseUrl}/functions/hello`)).status).toBe(404);
  });

  it('deploys the API key only on opt-in, relays no Kiln cookie, and sandboxes answers', async () => {
    const plain = await admin('POST', '/api/functions', { name: 'plain', code: CODE });
    const keyed = await admin('POST', '/api/functions', {
      name: 'keyed',
      code: `${CODE}\n// OWN_CSP: default-src 'self'`,
      apiKeyAccess: true,
    });
    expect(plain.status).toBe(201);
    expect(keyed.status).toBe(201);
    const plainDeployment = (await settled('plain', 'success')).deployment;
    const keyedDeployment = (await settled('keyed', 'success')).deployment;
    expect(fake.deployments.get(plainDeployment.id)!.envVars.API_KEY).toBeUndefined();
    expect(fake.deployments.get(keyedDeployment.id)!.envVars.API_KEY).toBe(t.apiKey);

    const user = await t.signUpUser();
    const res = await fetch(`${t.baseUrl}/functions/plain`, {
      headers: {
        authorization: `Bearer ${user.accessToken}`,
        cookie: 'insforge_refresh_token=r1; theme=dark; insforge_csrf_token=c1',
      },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/^sandbox\b.*default-src 'none'/);
    expect(await res.json()).toMatchObject({
      cookie: 'theme=dark',
      authorization: `Bearer ${user.accessToken}`,
    });
    const own = await fetch(`${t.baseUrl}/functions/keyed`);
    expect(own.headers.get('content-security-policy')).toBe("default-src 'self'");

    // Opting in later is a new version: a new deployment, with the key.
    await admin('PUT', '/api/functions/plain', { apiKeyAccess: true });
    const redeployed = (
      await settled('plain', (d) => d?.status === 'success' && d.id !== plainDeployment.id)
    ).deployment;
    expect(fake.deployments.get(redeployed.id)!.envVars.API_KEY).toBe(t.apiKey);
  });

  it('still refuses code that does not load, before calling Subhosting', async () => {
    const calls = fake.calls.length;
    const bad = await admin('POST', '/api/functions', { name: 'bad', code: 'export default 1;' });
    expect(bad.status).toBe(400);
    expect(fake.calls.length).toBe(calls);
  });
});
