import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { totpFor } from '../src/auth/mfa.js';
import { expectAccessToken, expectMfaToken, startTestApp, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp(
    {},
    {},
    {
      setupSql: `
        CREATE TABLE public.vault (id serial PRIMARY KEY, note text);
        INSERT INTO public.vault (note) VALUES ('only with a second factor');
        ALTER TABLE public.vault ENABLE ROW LEVEL SECURITY;
        CREATE POLICY vault_aal2 ON public.vault FOR SELECT TO authenticated
          USING (auth.jwt() ->> 'aal' = 'aal2');
        GRANT SELECT ON public.vault TO authenticated;`,
    },
  );
});
afterAll(async () => {
  await t?.stop();
});

const admin = (method: string, p: string, body?: unknown) =>
  t.request(method, p, { token: t.apiKey, body });
const signIn = (email: string, password: string) =>
  t.request('POST', '/api/auth/sessions?client_type=mobile', { body: { email, password } });

describe('TOTP', () => {
  it('matches the RFC 6238 test vectors (SHA-1)', () => {
    // The RFC's secret is the ASCII string "12345678901234567890".
    const totp = totpFor('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', 'rfc', 'Kiln', 8);
    const vectors: [number, string][] = [
      [59, '94287082'],
      [1111111109, '07081804'],
      [1111111111, '14050471'],
      [1234567890, '89005924'],
      [2000000000, '69279037'],
      [20000000000, '65353130'],
    ];
    for (const [seconds, code] of vectors)
      expect(totp.generate({ timestamp: seconds * 1000 })).toBe(code);
  });

  it('enrolls, requires the second factor at sign-in, gives aal2 sessions RLS can see, and resists replay and guessing', async () => {
    // A second factor needs a proven inbox; an account an admin created counts as proven.
    const email = `mfa-${Date.now()}@example.com`;
    const created = await admin('POST', '/api/auth/users', {
      email,
      password: 'correct horse battery',
    });
    const first0 = await signIn(email, 'correct horse battery');
    const user = {
      email,
      password: 'correct horse battery',
      userId: created.body.user.id as string,
      accessToken: first0.body.accessToken as string,
    };
    const enroll = await t.request('POST', '/api/auth/mfa/totp/enroll', {
      token: user.accessToken,
      body: { friendlyName: 'phone' },
    });
    expect(enroll.status).toBe(201);
    expect(enroll.body.otpauthUri).toMatch(/^otpauth:\/\/totp\//);
    expect(enroll.body.qrCode).toMatch(/^data:image\/png;base64,/);
    const totp = totpFor(enroll.body.secret);
    const wrong = await t.request('POST', '/api/auth/mfa/totp/verify', {
      token: user.accessToken,
      body: {
        factorId: enroll.body.factorId,
        code: '000000' === totp.generate() ? '111111' : '000000',
      },
    });
    expect(wrong.status).toBe(400);
    const verifyingCode = totp.generate();
    const verified = await t.request('POST', '/api/auth/mfa/totp/verify', {
      token: user.accessToken,
      body: { factorId: enroll.body.factorId, code: verifyingCode },
    });
    expect(verified.status).toBe(200);
    expect(verified.body.factor).toMatchObject({ status: 'verified', friendlyName: 'phone' });
    expect(verified.body.recoveryCodes).toHaveLength(10);

    // Password alone no longer makes a session.
    const first = await signIn(user.email, user.password);
    expect(first.body).toMatchObject({ requireMfa: true, accessToken: null });
    expect(first.body.refreshToken).toBeUndefined();
    expectMfaToken(first.body.mfaToken, user.userId);
    // The mfaToken is not an access token.
    expect(
      (await t.request('GET', '/api/auth/sessions/current', { token: first.body.mfaToken })).status,
    ).toBe(401);

    // The code used to verify the factor cannot be replayed; the next step's code works. (The very
    // code that was used, not a fresh one: a 30 s step that turned meanwhile would make a fresh
    // code the next step's, which is rightly accepted.)
    const replay = await t.request('POST', '/api/auth/mfa/challenge?client_type=mobile', {
      body: { mfaToken: first.body.mfaToken, code: verifyingCode },
    });
    expect(replay.body.error).toBe('AUTH_MFA_INVALID_CODE');
    const next = totp.generate({ timestamp: Date.now() + 30_000 });
    const done = await t.request('POST', '/api/auth/mfa/challenge?client_type=mobile', {
      body: { mfaToken: first.body.mfaToken, code: next },
    });
    expect(done.status).toBe(200);
    expectAccessToken(done.body.accessToken, { sub: user.userId, aal: 'aal2' });
    // The same mfaToken does not sign in twice.
    expect(
      (
        await t.request('POST', '/api/auth/mfa/challenge?client_type=mobile', {
          body: { mfaToken: first.body.mfaToken, code: verified.body.recoveryCodes[0] },
        })
      ).status,
    ).toBe(429);

    // RLS reads the level: aal2 sees the vault, aal1 does not.
    const vault = (token: string) =>
      t.request('GET', '/api/database/records/vault', { token }).then((r) => r.body);
    expect(await vault(done.body.accessToken)).toHaveLength(1);
    expect(await vault(user.accessToken)).toEqual([]);
    // Refreshing keeps the level.
    const refreshed = await t.request('POST', '/api/auth/refresh?client_type=mobile', {
      body: { refreshToken: done.body.refreshToken },
    });
    expectAccessToken(refreshed.body.accessToken, { sub: user.userId, aal: 'aal2' });

    // A recovery code works once.
    const second = await signIn(user.email, user.password);
    const recovered = await t.request('POST', '/api/auth/mfa/challenge?client_type=mobile', {
      body: { mfaToken: second.body.mfaToken, code: verified.body.recoveryCodes[1] },
    });
    expect(recovered.status).toBe(200);
    const third = await signIn(user.email, user.password);
    const reused = await t.request('POST', '/api/auth/mfa/challenge?client_type=mobile', {
      body: { mfaToken: third.body.mfaToken, code: verified.body.recoveryCodes[1] },
    });
    expect(reused.status).toBe(400);
    // Guessing stops after five wrong codes.
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push(
        (
          await t.request('POST', '/api/auth/mfa/challenge?client_type=mobile', {
            body: { mfaToken: third.body.mfaToken, code: 'ZZZZZ-ZZZZZ' },
          })
        ).status,
      );
    }
    expect(statuses).toEqual([400, 400, 400, 400, 429, 429]);
    expect(
      (
        await t.request('POST', '/api/auth/mfa/challenge', {
          body: { mfaToken: 'not-a-token', code: '123456' },
        })
      ).status,
    ).toBe(401);

    // Removing the factor needs an aal2 session.
    const factorId = enroll.body.factorId;
    expect(
      (await t.request('DELETE', `/api/auth/mfa/factors/${factorId}`, { token: user.accessToken }))
        .status,
    ).toBe(403);
    const factors = await t.request('GET', '/api/auth/mfa/factors', {
      token: done.body.accessToken,
    });
    expect(factors.body.factors).toEqual([
      expect.objectContaining({ id: factorId, status: 'verified' }),
    ]);

    // Nor can a session without the second factor add one (with fresh recovery codes).
    expect(
      (
        await t.request('POST', '/api/auth/mfa/totp/enroll', {
          token: user.accessToken,
          body: { friendlyName: 'attacker' },
        })
      ).status,
    ).toBe(403);
    // Parallel guesses share the five attempts; the right code comes too late after them.
    const racing = await signIn(user.email, user.password);
    const guesses = await Promise.all(
      Array.from({ length: 12 }, () =>
        t.request('POST', '/api/auth/mfa/challenge?client_type=mobile', {
          body: { mfaToken: racing.body.mfaToken, code: 'ZZZZZ-ZZZZZ' },
        }),
      ),
    );
    expect(guesses.filter((g) => g.status === 400)).toHaveLength(5);
    expect(guesses.filter((g) => g.status === 429)).toHaveLength(7);
    const tooLate = await t.request('POST', '/api/auth/mfa/challenge?client_type=mobile', {
      body: {
        mfaToken: racing.body.mfaToken,
        code: totp.generate({ timestamp: Date.now() + 60_000 }),
      },
    });
    expect(tooLate.status).toBe(429);

    // An admin reset removes the factor: password sign-in works again.
    expect((await admin('DELETE', `/api/auth/users/${user.userId}/mfa`)).body).toEqual({
      removedFactors: 1,
    });
    const plain = await signIn(user.email, user.password);
    expectAccessToken(plain.body.accessToken, {
      sub: user.userId,
      role: 'authenticated',
      aal: 'aal1',
    });
  });
});

describe('anonymous users', () => {
  it('are off by default; when allowed they get a real session and can become full accounts with the same id', async () => {
    expect((await t.request('POST', '/api/auth/anonymous?client_type=mobile')).status).toBe(403);
    await admin('PUT', '/api/auth/config', { allowAnonymousSignIn: true });
    try {
      const anon = await t.request('POST', '/api/auth/anonymous?client_type=mobile');
      expect(anon.status).toBe(201);
      expect(anon.body.user).toMatchObject({ isAnonymous: true, providers: ['anonymous'] });
      expectAccessToken(anon.body.accessToken, {
        sub: anon.body.user.id,
        role: 'authenticated',
        aal: 'aal1',
        is_anonymous: true,
      });
      const id = anon.body.user.id;
      const upgraded = await t.request('POST', '/api/auth/anonymous/upgrade?client_type=mobile', {
        token: anon.body.accessToken,
        body: {
          email: `upgraded-${id.slice(0, 8)}@example.com`,
          password: 'correct horse battery',
        },
      });
      expect(upgraded.status).toBe(200);
      expect(upgraded.body.user.id).toBe(id);
      expect(upgraded.body.user.isAnonymous).toBeUndefined();
      expect(upgraded.body.user.providers).toEqual(['email']);
      expectAccessToken(upgraded.body.accessToken, { sub: id, is_anonymous: false });
      // The anonymous session ended.
      const old = await t.request('POST', '/api/auth/refresh?client_type=mobile', {
        body: { refreshToken: anon.body.refreshToken },
      });
      expect(old.status).toBe(401);
      const again = await signIn(`upgraded-${id.slice(0, 8)}@example.com`, 'correct horse battery');
      expect(again.body.user.id).toBe(id);
      // Only anonymous users upgrade.
      const twice = await t.request('POST', '/api/auth/anonymous/upgrade', {
        token: again.body.accessToken,
        body: { email: 'other@example.com', password: 'correct horse battery' },
      });
      expect(twice.body.error).toBe('AUTH_NOT_ANONYMOUS');
    } finally {
      await admin('PUT', '/api/auth/config', { allowAnonymousSignIn: false });
    }
  });
});

describe('sessions', () => {
  it('lists my sessions, revokes one or all others; admins revoke all of a user', async () => {
    const user = await t.signUpUser();
    const laptop = await signIn(user.email, user.password);
    const phone = await signIn(user.email, user.password);
    const list = await t.request('GET', '/api/auth/sessions', { token: laptop.body.accessToken });
    expect(list.body.sessions).toHaveLength(3);
    expect(list.body.sessions.filter((s: any) => s.current)).toHaveLength(1);
    expect(list.body.sessions[0]).toMatchObject({ clientType: expect.any(String), aal: 'aal1' });
    const phoneSession = decodeJwt(phone.body.accessToken).sid as string;
    expect(
      (
        await t.request('DELETE', `/api/auth/sessions/${phoneSession}`, {
          token: laptop.body.accessToken,
        })
      ).status,
    ).toBe(200);
    const refresh = (token: string) =>
      t.request('POST', '/api/auth/refresh?client_type=mobile', { body: { refreshToken: token } });
    expect((await refresh(phone.body.refreshToken)).status).toBe(401);
    expect(
      (
        await t.request('DELETE', `/api/auth/sessions/${phoneSession}`, {
          token: laptop.body.accessToken,
        })
      ).status,
    ).toBe(404);
    const others = await t.request('POST', '/api/auth/sessions/revoke-others', {
      token: laptop.body.accessToken,
    });
    expect(others.body.revokedCount).toBe(1);
    expect((await refresh(user.refreshToken)).status).toBe(401);
    const kept = await refresh(laptop.body.refreshToken);
    expect(kept.status).toBe(200);
    expect(
      (await admin('DELETE', `/api/auth/users/${user.userId}/sessions`)).body.revokedCount,
    ).toBe(1);
    expect((await refresh(kept.body.refreshToken)).status).toBe(401);
    // Someone else's session id is not mine to revoke (from a new session: the admin ended mine).
    const other = await t.signUpUser();
    const otherSid = decodeJwt(other.accessToken).sid as string;
    const again = await signIn(user.email, user.password);
    expect(
      (
        await t.request('DELETE', `/api/auth/sessions/${otherSid}`, {
          token: again.body.accessToken,
        })
      ).status,
    ).toBe(404);
  });
});
