import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers.js';

/** The providers' published keys, served on loopback (the JWKS URLs are configurable). */
let jwks: http.Server;
let t: TestApp;
let signingKey: CryptoKey;
let strangerKey: CryptoKey;
const GOOGLE_AUD = 'kiln-web.apps.googleusercontent.com';
const APPLE_AUD = 'com.example.kiln';

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  signingKey = pair.privateKey;
  strangerKey = (await generateKeyPair('RS256')).privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwks = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/keys`;
  t = await startTestApp(
    {},
    {
      GOOGLE_CLIENT_ID: `other-client.apps.googleusercontent.com, ${GOOGLE_AUD}`,
      APPLE_CLIENT_ID: APPLE_AUD,
      GOOGLE_JWKS_URL: url,
      APPLE_JWKS_URL: url,
    },
  );
});
afterAll(async () => {
  await t?.stop();
  await new Promise((r) => jwks?.close(r));
});

function idToken(
  claims: Record<string, unknown>,
  options: { key?: CryptoKey; issuer?: string; audience?: string; expiresIn?: string } = {},
) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(options.issuer ?? 'https://accounts.google.com')
    .setAudience(options.audience ?? GOOGLE_AUD)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '10m')
    .sign(options.key ?? signingKey);
}

const send = (body: unknown) =>
  t.request('POST', '/api/auth/id-token?client_type=mobile', { body });

describe('native ID-token sign-in', () => {
  it('creates and then finds the user of a Google account; links a verified email to an existing account', async () => {
    const sub = `g-${crypto.randomUUID()}`;
    const email = `google-${sub.slice(2, 10)}@example.com`;
    const token = await idToken({ sub, email, email_verified: true, name: 'Gina', nonce: 'n-1' });
    const first = await send({ provider: 'google', token, nonce: 'n-1' });
    expect(first.status).toBe(200);
    expect(first.body.user).toMatchObject({
      email,
      emailVerified: true,
      providers: ['google'],
      profile: { name: 'Gina' },
    });
    const again = await send({
      provider: 'google',
      token: await idToken({ sub, email, email_verified: true }),
    });
    expect(again.body.user.id).toBe(first.body.user.id);

    const existing = await t.signUpUser();
    const linked = await send({
      provider: 'google',
      token: await idToken({
        sub: `g-${crypto.randomUUID()}`,
        email: existing.email,
        email_verified: true,
      }),
    });
    expect(linked.body.user.id).toBe(existing.userId);
    // Nobody had proven that inbox: the password that came with the sign-up is gone.
    expect(linked.body.user.providers).toEqual(['google']);

    const admitted = await t.request('POST', '/api/auth/users', {
      token: t.apiKey,
      body: {
        email: `proven-${crypto.randomUUID()}@example.com`,
        password: 'correct horse battery',
      },
    });
    const kept = await send({
      provider: 'google',
      token: await idToken({
        sub: `g-${crypto.randomUUID()}`,
        email: admitted.body.user.email,
        email_verified: true,
      }),
    });
    expect(kept.body.user.id).toBe(admitted.body.user.id);
    expect(kept.body.user.providers).toEqual(['email', 'google']);
  });

  it('never lets an unverified provider email take over an account', async () => {
    const existing = await t.signUpUser();
    const res = await send({
      provider: 'google',
      token: await idToken({
        sub: `g-${crypto.randomUUID()}`,
        email: existing.email,
        email_verified: false,
      }),
    });
    expect(res.status).toBe(409);
    expect(res.body.error).toBe('AUTH_OAUTH_EMAIL_UNVERIFIED');
    expect(res.body.accessToken).toBeUndefined();
  });

  it('accepts Apple tokens with the hashed nonce and string email_verified', async () => {
    const raw = 'apple-raw-nonce';
    const hashed = crypto.createHash('sha256').update(raw).digest('hex');
    const res = await send({
      provider: 'apple',
      nonce: raw,
      token: await idToken(
        {
          sub: `a-${crypto.randomUUID()}`,
          email: `apple-${Date.now()}@privaterelay.appleid.com`,
          email_verified: 'true',
          nonce: hashed,
        },
        { issuer: 'https://appleid.apple.com', audience: APPLE_AUD },
      ),
    });
    expect(res.status).toBe(200);
    expect(res.body.user.providers).toEqual(['apple']);
  });

  it('refuses wrong audience, wrong issuer, expired, foreign signature and nonce mismatch with a clear 401', async () => {
    const claims = {
      sub: `g-${crypto.randomUUID()}`,
      email: 'x@example.com',
      email_verified: true,
    };
    const cases: [string, Promise<string>, string | undefined, RegExp][] = [
      ['audience', idToken(claims, { audience: 'someone-else' }), undefined, /"aud"/],
      ['issuer', idToken(claims, { issuer: 'https://evil.example' }), undefined, /"iss"/],
      ['expired', idToken(claims, { expiresIn: '-1m' }), undefined, /expired/],
      ['signature', idToken(claims, { key: strangerKey }), undefined, /signature/],
      ['nonce', idToken({ ...claims, nonce: 'expected' }), 'different', /nonce/],
    ];
    for (const [name, token, nonce, message] of cases) {
      const res = await send({ provider: 'google', token: await token, nonce });
      expect(res.status, name).toBe(401);
      expect(res.body.error, name).toBe('AUTH_INVALID_ID_TOKEN');
      expect(res.body.message, name).toMatch(message);
    }
    expect((await send({ provider: 'github', token: 'x'.repeat(20) })).status).toBe(400);
    expect((await send({ provider: 'google', token: 'not-a-jwt-at-all' })).status).toBe(401);
  });
});
