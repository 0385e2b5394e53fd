import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import Provider from 'oidc-provider';
import { io } from 'socket.io-client';
import { SignJWT, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../src/app.js';
import { pgUrl, startTestApp, type TestApp } from './helpers.js';

/**
 * Keys other services can verify (issue 22): access tokens signed with a published ES256 key,
 * checked by `jose` in a separate process; rotation with an overlap window (time moved in SQL,
 * no sleeping); tokens of a trusted outside issuer (a real `oidc-provider` on loopback) obeying
 * an RLS policy; unknown issuers and bad input refused.
 */
const backendDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const run = promisify(execFile);

/** Verifies `token` against `jwksUrl` in a child Node process with jose; its payload or error. */
async function verifyElsewhere(
  jwksUrl: string,
  token: string,
): Promise<{ ok: true; payload: Record<string, unknown> } | { ok: false; error: string }> {
  const script = `
    import { createRemoteJWKSet, jwtVerify } from 'jose';
    const keys = createRemoteJWKSet(new URL(process.env.JWKS_URL));
    try {
      const { payload, protectedHeader } = await jwtVerify(process.env.TOKEN, keys, { issuer: 'kiln' });
      console.log(JSON.stringify({ ok: true, payload, protectedHeader }));
    } catch (err) {
      console.log(JSON.stringify({ ok: false, error: err.code ?? String(err) }));
    }`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    cwd: backendDir,
    env: { ...process.env, JWKS_URL: jwksUrl, TOKEN: token },
  });
  return JSON.parse(stdout.trim());
}

/** Opens a realtime socket with `token`: 'connected', or the refusal's message. */
function socketWith(baseUrl: string, token: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = io(baseUrl, { transports: ['websocket'], auth: { token }, reconnection: false });
    socket.once('connect', () => {
      socket.close();
      resolve('connected');
    });
    socket.once('connect_error', (err) => {
      socket.close();
      resolve(err.message);
    });
  });
}

async function sql<T extends pg.QueryResultRow>(
  t: TestApp,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: pgUrl(t.database) });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

describe('ES256 signing keys', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({}, { JWT_ALGORITHM: 'ES256' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('signs with a published key that jose verifies in another process, at every JWKS path', async () => {
    const user = await t.signUpUser();
    const header = decodeProtectedHeader(user.accessToken);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'JWT' });
    expect(header.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const wellKnown = await t.request('GET', '/.well-known/jwks.json');
    expect(wellKnown.status).toBe(200);
    expect(wellKnown.body.keys).toEqual([
      expect.objectContaining({
        kty: 'EC',
        crv: 'P-256',
        alg: 'ES256',
        use: 'sig',
        kid: header.kid,
      }),
    ]);
    // No private part is ever published.
    expect(wellKnown.body.keys[0]).not.toHaveProperty('d');
    for (const p of ['/api/.well-known/jwks.json', '/api/auth/.well-known/jwks.json']) {
      const res = await t.request('GET', p);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(wellKnown.body);
    }
    // The private key is kept sealed in the database, never in clear.
    const [row] = await sql<{ private_key_sealed: string }>(
      t,
      `SELECT private_key_sealed FROM system.signing_keys WHERE kid = $1`,
      [header.kid],
    );
    expect(row!.private_key_sealed).toMatch(/^v1:/);
    expect(row!.private_key_sealed).not.toContain('PRIVATE KEY');

    const verified = await verifyElsewhere(`${t.baseUrl}/.well-known/jwks.json`, user.accessToken);
    expect(verified).toMatchObject({
      ok: true,
      payload: { sub: user.userId, role: 'authenticated' },
    });
    // A tampered token does not verify there either.
    const [h, p, s] = user.accessToken.split('.');
    const forged = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(p!, 'base64url').toString()),
        role: 'project_admin',
      }),
    ).toString('base64url');
    expect(
      await verifyElsewhere(`${t.baseUrl}/.well-known/jwks.json`, `${h}.${forged}.${s}`),
    ).toMatchObject({ ok: false });
    // And Kiln itself refuses an HS256 token signed with its JWT_SECRET in ES256 mode.
    const hs = await new SignJWT({ role: 'authenticated', sid: crypto.randomUUID() })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.userId)
      .setIssuer('kiln')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(t.app.config.jwtSecret!));
    const refused = await t.request('GET', '/api/auth/sessions/current', { token: hs });
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('AUTH_UNAUTHORIZED');
  });

  it('rotates with an overlap window: both keys verify and are published, then the old one is gone', async () => {
    const user = await t.signUpUser();
    const oldKid = decodeProtectedHeader(user.accessToken).kid!;
    const rotated = await t.request('POST', '/api/auth/signing-keys/rotate', {
      token: t.apiKey,
      body: { overlapSeconds: 3600 },
    });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ algorithm: 'ES256', previousKid: oldKid });
    const newKid = rotated.body.kid as string;
    expect(newKid).not.toBe(oldKid);
    expect(Date.parse(rotated.body.previousValidUntil)).toBeGreaterThan(Date.now() + 3500_000);

    const jwks = await t.request('GET', '/.well-known/jwks.json');
    expect(jwks.body.keys.map((k: { kid: string }) => k.kid)).toEqual([newKid, oldKid]);
    const listed = await t.request('GET', '/api/auth/signing-keys', { token: t.apiKey });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({
      algorithm: 'ES256',
      data: [
        expect.objectContaining({ kid: newKid, signing: true, retiredAt: null, expiresAt: null }),
        expect.objectContaining({
          kid: oldKid,
          signing: false,
          expiresAt: rotated.body.previousValidUntil,
        }),
      ],
    });

    // New tokens name the new key; the old token still works, here and elsewhere.
    const signedIn = await t.request('POST', '/api/auth/sessions?client_type=mobile', {
      body: { email: user.email, password: user.password },
    });
    expect(decodeProtectedHeader(signedIn.body.accessToken).kid).toBe(newKid);
    for (const token of [user.accessToken, signedIn.body.accessToken as string]) {
      const me = await t.request('GET', '/api/auth/sessions/current', { token });
      expect(me.status).toBe(200);
      expect(me.body.user.id).toBe(user.userId);
      expect(await verifyElsewhere(`${t.baseUrl}/.well-known/jwks.json`, token)).toMatchObject({
        ok: true,
      });
    }

    // The window ends (moved in SQL, not waited for): the old key's tokens are refused on every
    // instance (the change is announced) and the key is no longer published.
    await sql(
      t,
      `UPDATE system.signing_keys SET expires_at = now() - interval '1 second' WHERE kid = $1`,
      [oldKid],
    );
    await expect
      .poll(
        async () =>
          (await t.request('GET', '/api/auth/sessions/current', { token: user.accessToken }))
            .status,
      )
      .toBe(401);
    const after = await t.request('GET', '/api/auth/sessions/current', {
      token: user.accessToken,
    });
    expect(after.body.error).toBe('AUTH_UNAUTHORIZED');
    const listedAfter = await t.request('GET', '/api/auth/signing-keys', { token: t.apiKey });
    expect(listedAfter.body.data.map((k: { kid: string }) => k.kid)).toEqual([newKid]);
    const jwksAfter = await t.request('GET', '/.well-known/jwks.json');
    expect(jwksAfter.body.keys.map((k: { kid: string }) => k.kid)).toEqual([newKid]);
    expect(
      await verifyElsewhere(`${t.baseUrl}/.well-known/jwks.json`, user.accessToken),
    ).toMatchObject({ ok: false, error: 'ERR_JWKS_NO_MATCHING_KEY' });
    const current = await t.request('GET', '/api/auth/sessions/current', {
      token: signedIn.body.accessToken,
    });
    expect(current.status).toBe(200);
  });

  it('shares one key among the instances on one database; a rotation reaches them all', async () => {
    const second = await createApp(
      { ...t.app.config },
      { logger: t.app.logger, checkResponses: true },
    );
    const address = await second.listen(0, '127.0.0.1');
    const secondUrl = `http://127.0.0.1:${address.port}`;
    const signIn = async (baseUrl: string, email: string, password: string) => {
      const res = await fetch(`${baseUrl}/api/auth/sessions?client_type=mobile`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      });
      return ((await res.json()) as { accessToken: string }).accessToken;
    };
    try {
      const user = await t.signUpUser();
      const fromSecond = await signIn(secondUrl, user.email, user.password);
      expect(decodeProtectedHeader(fromSecond).kid).toBe(
        decodeProtectedHeader(user.accessToken).kid,
      );
      // Each instance accepts the other's tokens and publishes the same keys.
      const me = await t.request('GET', '/api/auth/sessions/current', { token: fromSecond });
      expect(me.status).toBe(200);
      const there = await fetch(`${secondUrl}/api/auth/sessions/current`, {
        headers: { authorization: `Bearer ${user.accessToken}` },
      });
      expect(there.status).toBe(200);
      expect(await (await fetch(`${secondUrl}/.well-known/jwks.json`)).json()).toEqual(
        (await t.request('GET', '/.well-known/jwks.json')).body,
      );

      const rotated = await t.request('POST', '/api/auth/signing-keys/rotate', {
        token: t.apiKey,
        body: { overlapSeconds: 600 },
      });
      expect(rotated.status).toBe(200);
      // The other instance hears of it and signs with the new key.
      await expect
        .poll(
          async () => decodeProtectedHeader(await signIn(secondUrl, user.email, user.password)).kid,
        )
        .toBe(rotated.body.kid);
    } finally {
      await second.close();
    }
  });

  it('answers bad rotation and issuer input with 4xx', async () => {
    const user = await t.signUpUser();
    const cases: Array<[string, string, unknown, string | undefined, number, string]> = [
      [
        'POST',
        '/api/auth/signing-keys/rotate',
        { overlapSeconds: -1 },
        t.apiKey,
        400,
        'INVALID_INPUT',
      ],
      [
        'POST',
        '/api/auth/signing-keys/rotate',
        { overlapSeconds: 'soon' },
        t.apiKey,
        400,
        'INVALID_INPUT',
      ],
      ['POST', '/api/auth/signing-keys/rotate', {}, user.accessToken, 403, 'AUTH_FORBIDDEN'],
      ['GET', '/api/auth/signing-keys', undefined, user.accessToken, 403, 'AUTH_FORBIDDEN'],
      ['POST', '/api/auth/signing-keys/rotate', {}, undefined, 401, 'AUTH_INVALID_CREDENTIALS'],
      [
        'POST',
        '/api/auth/trusted-issuers',
        { issuer: 'https://idp.example', jwksUrl: 'ftp://idp.example/keys', audience: 'app' },
        t.apiKey,
        400,
        'INVALID_INPUT',
      ],
      [
        'POST',
        '/api/auth/trusted-issuers',
        { issuer: '', jwksUrl: 'https://idp.example/keys', audience: 'app' },
        t.apiKey,
        400,
        'INVALID_INPUT',
      ],
      [
        'POST',
        '/api/auth/trusted-issuers',
        { issuer: 'https://idp.example', jwksUrl: 'https://idp.example/keys' },
        t.apiKey,
        400,
        'INVALID_INPUT',
      ],
      [
        'POST',
        '/api/auth/trusted-issuers',
        {
          issuer: 'https://idp.example',
          jwksUrl: 'https://idp.example/keys',
          audience: 'app',
          roleClaim: 'bad claim!',
        },
        t.apiKey,
        400,
        'INVALID_INPUT',
      ],
      [
        'POST',
        '/api/auth/trusted-issuers',
        { issuer: 'https://idp.example', jwksUrl: 'https://idp.example/keys', audience: 'app' },
        user.accessToken,
        403,
        'AUTH_FORBIDDEN',
      ],
      ['DELETE', '/api/auth/trusted-issuers/not-a-uuid', undefined, t.apiKey, 400, 'INVALID_INPUT'],
      [
        'DELETE',
        `/api/auth/trusted-issuers/${crypto.randomUUID()}`,
        undefined,
        t.apiKey,
        404,
        'AUTH_ISSUER_NOT_FOUND',
      ],
    ];
    for (const [method, p, body, token, status, error] of cases) {
      const res = await t.request(method, p, { body, token });
      expect({ method, p, body, status: res.status, error: res.body.error }).toEqual({
        method,
        p,
        body,
        status,
        error,
      });
    }
    const issuer = {
      issuer: 'https://idp.example',
      jwksUrl: 'https://idp.example/keys',
      audience: 'app',
    };
    expect(
      (await t.request('POST', '/api/auth/trusted-issuers', { body: issuer, token: t.apiKey }))
        .status,
    ).toBe(201);
    const again = await t.request('POST', '/api/auth/trusted-issuers', {
      body: issuer,
      token: t.apiKey,
    });
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('AUTH_ISSUER_EXISTS');
    // Garbage where a token belongs is a 401, never a 500.
    for (const junk of ['a.b.c', 'eyJhbGciOiJub25lIn0.e30.', 'not-a-token']) {
      const res = await t.request('GET', '/api/auth/sessions/current', { token: junk });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('AUTH_UNAUTHORIZED');
    }
  });
});

describe('RS256 signing keys', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({}, { JWT_ALGORITHM: 'RS256' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('signs with a published RSA key that jose verifies in another process', async () => {
    const user = await t.signUpUser();
    const header = decodeProtectedHeader(user.accessToken);
    expect(header.alg).toBe('RS256');
    const jwks = await t.request('GET', '/api/.well-known/jwks.json');
    expect(jwks.body.keys).toEqual([
      expect.objectContaining({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: header.kid }),
    ]);
    expect(jwks.body.keys[0]).not.toHaveProperty('d');
    expect(
      await verifyElsewhere(`${t.baseUrl}/api/.well-known/jwks.json`, user.accessToken),
    ).toMatchObject({ ok: true, payload: { sub: user.userId } });
  });
});

describe('HS256 (the default)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('publishes no keys and has no key pair to rotate', async () => {
    const user = await t.signUpUser();
    const header = decodeProtectedHeader(user.accessToken);
    expect(header.alg).toBe('HS256');
    expect(header.kid).toBeUndefined();
    const jwks = await t.request('GET', '/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expect(jwks.body).toEqual({ keys: [] });
    const rotate = await t.request('POST', '/api/auth/signing-keys/rotate', { token: t.apiKey });
    expect(rotate.status).toBe(409);
    expect(rotate.body.error).toBe('AUTH_SIGNING_KEY_NOT_ROTATABLE');
    const listed = await t.request('GET', '/api/auth/signing-keys', { token: t.apiKey });
    expect(listed.body).toEqual({ algorithm: 'HS256', data: [] });
  });
});

describe('trusted outside issuers', () => {
  let t: TestApp;
  let oidcServer: http.Server;
  let issuer: string;
  /** The outside provider's client: its tokens' `sub` (client credentials), a uuid. */
  const clientId = crypto.randomUUID();
  const otherOwner = crypto.randomUUID();
  const AUDIENCE = 'https://api.kiln.test';

  beforeAll(async () => {
    t = await startTestApp(
      {},
      { JWT_ALGORITHM: 'ES256' },
      {
        setupSql: `
          CREATE TABLE public.notes (
            id serial PRIMARY KEY,
            owner uuid NOT NULL DEFAULT auth.uid(),
            body text NOT NULL
          );
          ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
          CREATE POLICY own_notes ON public.notes FOR SELECT TO authenticated
            USING (owner = auth.uid() AND (auth.jwt() -> 'app_roles') ? 'editor');
          CREATE POLICY add_notes ON public.notes FOR INSERT TO authenticated
            WITH CHECK (owner = auth.uid());
          GRANT SELECT, INSERT ON public.notes TO authenticated;
          GRANT USAGE ON SEQUENCE public.notes_id_seq TO authenticated;
          INSERT INTO public.notes (owner, body) VALUES
            ('${clientId}', 'mine'), ('${otherOwner}', 'theirs');`,
      },
    );
    oidcServer = http.createServer();
    await new Promise<void>((r) => oidcServer.listen(0, '127.0.0.1', r));
    issuer = `http://127.0.0.1:${(oidcServer.address() as AddressInfo).port}`;
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const provider = new Provider(issuer, {
      jwks: {
        keys: [{ ...(await exportJWK(privateKey)), kid: 'outside-1', alg: 'RS256', use: 'sig' }],
      },
      clients: [
        {
          client_id: clientId,
          client_secret: 'outside-secret',
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
        },
      ],
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => AUDIENCE,
          getResourceServerInfo: () => ({
            scope: 'notes',
            audience: AUDIENCE,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          }),
          useGrantedResource: () => true,
        },
      },
      ttl: { ClientCredentials: 300 },
      extraTokenClaims: () => ({ realm_access: { roles: ['editor', 'viewer'] } }),
    });
    oidcServer.on('request', provider.callback());
  });
  afterAll(async () => {
    await t?.stop();
    oidcServer?.closeAllConnections();
    await new Promise((r) => oidcServer?.close(r));
  });

  async function outsideToken(): Promise<string> {
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${clientId}:outside-secret`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        scope: 'notes',
        resource: AUDIENCE,
      }),
    });
    const body = (await res.json()) as { access_token?: string };
    expect(res.status, JSON.stringify(body)).toBe(200);
    return body.access_token!;
  }

  it('accepts a configured issuer’s tokens as authenticated under RLS, and refuses unknown issuers', async () => {
    const token = await outsideToken();
    // Not trusted yet: refused.
    const before = await t.request('GET', '/api/database/records/notes', { token });
    expect(before.status).toBe(401);
    // The records API answers in PostgREST's shape: PGRST301 is its invalid-JWT code.
    expect(before.body.code).toBe('PGRST301');

    const created = await t.request('POST', '/api/auth/trusted-issuers', {
      token: t.apiKey,
      body: {
        issuer,
        jwksUrl: `${issuer}/jwks`,
        audience: AUDIENCE,
        roleClaim: 'realm_access.roles',
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      issuer,
      audience: AUDIENCE,
      roleClaim: 'realm_access.roles',
    });
    const listed = await t.request('GET', '/api/auth/trusted-issuers', { token: t.apiKey });
    expect(listed.body.data).toEqual([created.body]);

    // Through the SDK, as an app would: the policy sees the outside sub and mapped roles.
    const client = t.sdk({ accessToken: token });
    const { data, error } = await client.database.from('notes').select('body, owner');
    expect(error).toBeNull();
    expect(data).toEqual([{ body: 'mine', owner: clientId }]);
    const inserted = await t.request('POST', '/api/database/records/notes', {
      token,
      body: [{ body: 'added' }],
      headers: { prefer: 'return=representation' },
    });
    expect(inserted.status).toBe(201);
    expect(inserted.body).toEqual([expect.objectContaining({ body: 'added', owner: clientId })]);

    // Not a Kiln user: Kiln's per-user endpoints and allowances do not apply to it.
    for (const [method, p, body] of [
      ['GET', '/api/auth/sessions/current', undefined],
      [
        'POST',
        '/api/ai/chat/completion',
        { model: 'any', messages: [{ role: 'user', content: 'hi' }] },
      ],
      ['POST', '/api/email/send-raw', { to: 'a@example.com', subject: 's', html: 'h' }],
    ] as const) {
      const res = await t.request(method, p, { token, body });
      expect({ p, status: res.status, error: res.body.error }).toEqual({
        p,
        status: 403,
        error: 'AUTH_FORBIDDEN',
      });
    }

    // Realtime sockets authenticate through the same verifier.
    expect(await socketWith(t.baseUrl, token)).toBe('connected');

    // A token signed by someone else naming the same issuer, and one of an unknown issuer.
    const { privateKey } = await generateKeyPair('ES256');
    const forge = (iss: string) =>
      new SignJWT({ realm_access: { roles: ['editor'] } })
        .setProtectedHeader({ alg: 'ES256', kid: 'outside-1' })
        .setSubject(clientId)
        .setIssuer(iss)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey);
    for (const bad of [await forge(issuer), await forge('https://unknown-issuer.example')]) {
      const res = await t.request('GET', '/api/database/records/notes', { token: bad });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('PGRST301');
      expect(await socketWith(t.baseUrl, bad)).not.toBe('connected');
    }

    // No longer trusted: refused again, and its open sockets are cut off.
    const open = io(t.baseUrl, { transports: ['websocket'], auth: { token }, reconnection: false });
    await new Promise<void>((resolve, reject) => {
      open.once('connect', () => resolve());
      open.once('connect_error', reject);
    });
    const started = Date.now();
    const cutOff = new Promise<{ code: string }>((resolve) => open.once('realtime:error', resolve));
    const removed = await t.request('DELETE', `/api/auth/trusted-issuers/${created.body.id}`, {
      token: t.apiKey,
    });
    expect(removed.status).toBe(200);
    expect(await cutOff).toMatchObject({ code: 'REALTIME_UNAUTHORIZED' });
    // At once (the change is announced), not at the 10 s safety-net re-check (8 s: room for a
    // loaded machine).
    expect(Date.now() - started).toBeLessThan(8000);
    open.close();
    const after = await t.request('GET', '/api/database/records/notes', { token });
    expect(after.status).toBe(401);
  });
  it('keeps an issuer’s keys cached, fetching them again for an unknown kid at most every 30 s', async () => {
    // An identity provider whose key set the test controls, counting its fetches.
    const keyA = await generateKeyPair('ES256');
    const keyB = await generateKeyPair('ES256');
    const published = [
      { ...(await exportJWK(keyA.publicKey)), kid: 'a', alg: 'ES256', use: 'sig' },
    ];
    let fetches = 0;
    const jwksServer = http.createServer((_req, res) => {
      fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/keys`;
    const ISS = 'https://rotating-idp.example';
    const created = await t.request('POST', '/api/auth/trusted-issuers', {
      token: t.apiKey,
      body: { issuer: ISS, jwksUrl, audience: AUDIENCE },
    });
    expect(created.status).toBe(201);
    const sign = (key: CryptoKey, kid: string, exp: number | string = '5m') =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid })
        .setSubject(clientId)
        .setIssuer(ISS)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(exp)
        .sign(key);
    const status = async (token: string) =>
      (await t.request('GET', '/api/database/records/notes', { token })).status;
    try {
      expect(await status(await sign(keyA.privateKey, 'a'))).toBe(200);
      expect(await status(await sign(keyA.privateKey, 'a'))).toBe(200);
      expect(fetches).toBe(1);
      // An expired token is refused.
      expect(
        await status(await sign(keyA.privateKey, 'a', Math.floor(Date.now() / 1000) - 60)),
      ).toBe(401);
      // The provider rotates. Right after the last fetch, an unknown kid does not fetch again...
      published.push({ ...(await exportJWK(keyB.publicKey)), kid: 'b', alg: 'ES256', use: 'sig' });
      const tokenB = await sign(keyB.privateKey, 'b');
      expect(await status(tokenB)).toBe(401);
      expect(fetches).toBe(1);
      // ...30 s later (the clock moved, not waited for) it does, and the new key is accepted.
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + 31_000);
      try {
        expect(await status(tokenB)).toBe(200);
      } finally {
        vi.useRealTimers();
      }
      expect(fetches).toBe(2);
    } finally {
      await t.request('DELETE', `/api/auth/trusted-issuers/${created.body.id}`, {
        token: t.apiKey,
      });
      jwksServer.closeAllConnections();
      await new Promise((r) => jwksServer.close(r));
    }
  });
});
