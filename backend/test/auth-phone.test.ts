/**
 * Phone sign-in and verification by SMS code (issue 22), against a local stand-in for Twilio's
 * Messages API (fake-twilio.ts) so the real provider code sends every message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@insforge/sdk';
import { ConfigError, loadConfig } from '../src/core/config.js';
import pg from 'pg';
import { pgUrl, startTestApp, type TestApp } from './helpers.js';
import { startFakeTwilio, type FakeTwilio } from './fake-twilio.js';

let t: TestApp;
let twilio: FakeTwilio;
const FROM = '+15005550006';

/** Distinct valid US numbers (+1 415 555 2xxx) per test. */
let nextLine = 2600;
const newNumber = () => `+1415555${nextLine++}`;

beforeAll(async () => {
  twilio = await startFakeTwilio();
  t = await startTestApp(
    {},
    {
      SMS_PROVIDER: 'twilio',
      TWILIO_ACCOUNT_SID: twilio.accountSid,
      TWILIO_AUTH_TOKEN: twilio.authToken,
      TWILIO_FROM: FROM,
      TWILIO_API_BASE: twilio.url,
      SMS_DEFAULT_COUNTRY: 'US',
    },
  );
});

afterAll(async () => {
  await t?.stop();
  await twilio?.close();
});

async function signInByPhone(phone: string) {
  const sent = await t.request('POST', '/api/auth/phone/send-otp', { body: { phone } });
  expect(sent.status).toBe(202);
  const code = await twilio.nextCode(sent.body.phone);
  const res = await t.request('POST', '/api/auth/phone/sign-in?client_type=mobile', {
    body: { phone, otp: code },
  });
  expect(res.status).toBe(200);
  return res.body as { user: { id: string; phone: string }; accessToken: string };
}

describe('phone sign-in by SMS code', () => {
  it('signs up and back in with a code sent through Twilio, the number normalised to E.164', async () => {
    const sent = await t.request('POST', '/api/auth/phone/send-otp', {
      body: { phone: '+1 (415) 555-2671' },
    });
    expect(sent.status).toBe(202);
    expect(sent.body).toMatchObject({ success: true, phone: '+14155552671' });
    const sms = await twilio.next('+14155552671');
    expect(sms.from).toBe(FROM);
    const code = /\b(\d{6})\b/.exec(sms.body)![1]!;

    // The same number written another way (national, SMS_DEFAULT_COUNTRY=US) is the same number.
    const first = await t.request('POST', '/api/auth/phone/sign-in?client_type=mobile', {
      body: { phone: '(415) 555-2671', otp: code },
    });
    expect(first.status).toBe(200);
    expect(first.body.user).toMatchObject({
      phone: '+14155552671',
      phoneVerified: true,
      providers: ['phone'],
    });
    expect(first.body.refreshToken).toEqual(expect.any(String));

    // The token is a real session: the SDK reads the user with it.
    const me = createClient({ baseUrl: t.baseUrl, accessToken: first.body.accessToken });
    const current = await me.auth.getCurrentUser();
    expect(current.error).toBeNull();
    expect(current.data.user).toMatchObject({ id: first.body.user.id, phone: '+14155552671' });

    // A code works once; a second sign-in with a new code reaches the same account.
    const reused = await t.request('POST', '/api/auth/phone/sign-in', {
      body: { phone: '+14155552671', otp: code },
    });
    expect(reused.status).toBe(400);
    expect(reused.body.error).toBe('AUTH_INVALID_OTP');
    const again = await signInByPhone('+1 415 555 2671');
    expect(again.user.id).toBe(first.body.user.id);
  });

  it('refuses malformed numbers with 400 on every phone route', async () => {
    const { accessToken } = await t.signUpUser();
    for (const phone of ['12345', '+1 415 555', 'call me', '+44 7700 900123', '+999 1234567']) {
      const send = await t.request('POST', '/api/auth/phone/send-otp', { body: { phone } });
      expect(send.status, phone).toBe(400);
      expect(send.body.error).toBe('AUTH_INVALID_PHONE');
      const signIn = await t.request('POST', '/api/auth/phone/sign-in', {
        body: { phone, otp: '123456' },
      });
      expect(signIn.body.error).toBe('AUTH_INVALID_PHONE');
      const verify = await t.request('POST', '/api/auth/phone/send-verification', {
        body: { phone },
        token: accessToken,
      });
      expect(verify.body.error).toBe('AUTH_INVALID_PHONE');
    }
    for (const body of [{}, { phone: '' }, { phone: 14155552671 }, { phone: 'x'.repeat(41) }]) {
      const res = await t.request('POST', '/api/auth/phone/send-otp', { body });
      expect(res.status).toBe(400);
    }
    const badCode = await t.request('POST', '/api/auth/phone/sign-in', {
      body: { phone: newNumber(), otp: '12ab56' },
    });
    expect(badCode.status).toBe(400);
    expect(twilio.messages.filter((m) => !m.to.startsWith('+1415555'))).toEqual([]);
  });

  it('burns a code after 5 wrong attempts', async () => {
    const phone = newNumber();
    await t.request('POST', '/api/auth/phone/send-otp', { body: { phone } });
    const code = await twilio.nextCode(phone);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) {
      const res = await t.request('POST', '/api/auth/phone/sign-in', {
        body: { phone, otp: wrong },
      });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('AUTH_INVALID_OTP');
    }
    const right = await t.request('POST', '/api/auth/phone/sign-in', {
      body: { phone, otp: code },
    });
    expect(right.status).toBe(400);
    expect(right.body.error).toBe('AUTH_INVALID_OTP');
  });

  it('throttles sends per number, answering unknown numbers the same', async () => {
    const phone = newNumber();
    for (let i = 0; i < 5; i++) {
      const res = await t.request('POST', '/api/auth/phone/send-otp', { body: { phone } });
      expect(res.status).toBe(202);
    }
    const sixth = await t.request('POST', '/api/auth/phone/send-otp', { body: { phone } });
    expect(sixth.status).toBe(429);
    expect(sixth.body.error).toBe('AUTH_RATE_LIMITED');
    // Another number is not affected.
    const other = await t.request('POST', '/api/auth/phone/send-otp', {
      body: { phone: newNumber() },
    });
    expect(other.status).toBe(202);
  });

  it('throttles parallel sends as if they came one after another', async () => {
    const phone = newNumber();
    const statuses = await Promise.all(
      Array.from({ length: 12 }, () =>
        t.request('POST', '/api/auth/phone/send-otp', { body: { phone } }).then((r) => r.status),
      ),
    );
    // Five per number in the window, however the twelve interleave (each counted before any
    // recorded would let them all through).
    expect(statuses.filter((s) => s === 202)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
    // This test's sends leave the address's per-IP allowance to the tests after it.
    const client = new pg.Client({ connectionString: pgUrl(t.database) });
    await client.connect();
    try {
      await client.query('DELETE FROM auth.email_sends WHERE email = $1', [phone]);
    } finally {
      await client.end();
    }
  });

  it('adds a number to an account only with its code, and an unproven claim never captures the owner', async () => {
    const alice = await t.signUpUser();
    const bob = await t.signUpUser();
    const number = newNumber();

    // Alice asks for a number that is not hers: it shows unverified and signs nobody in.
    const asked = await t.request('POST', '/api/auth/phone/send-verification', {
      body: { phone: number },
      token: alice.accessToken,
    });
    expect(asked.status).toBe(202);
    const aliceCode = await twilio.nextCode(number);
    let me = await t.request('GET', '/api/auth/sessions/current', { token: alice.accessToken });
    expect(me.body.user).toMatchObject({ phone: number, phoneVerified: false });

    // Her code is bound to her: Bob cannot use it for the same number.
    const stolen = await t.request('POST', '/api/auth/phone/verify', {
      body: { phone: number, otp: aliceCode },
      token: bob.accessToken,
    });
    expect(stolen.status).toBe(400);
    expect(stolen.body.error).toBe('AUTH_INVALID_OTP');

    // The number's owner signs in with it: their own new account, and Alice's claim is gone.
    const owner = await signInByPhone(number);
    expect([alice.userId, bob.userId]).not.toContain(owner.user.id);
    me = await t.request('GET', '/api/auth/sessions/current', { token: alice.accessToken });
    expect(me.body.user).toMatchObject({ phone: null, phoneVerified: false });

    // Now proven elsewhere: Alice's code no longer gets it, nor can she ask again.
    const late = await t.request('POST', '/api/auth/phone/verify', {
      body: { phone: number, otp: aliceCode },
      token: alice.accessToken,
    });
    expect(late.status).toBe(409);
    expect(late.body.error).toBe('AUTH_PHONE_EXISTS');
    const askAgain = await t.request('POST', '/api/auth/phone/send-verification', {
      body: { phone: number },
      token: alice.accessToken,
    });
    expect(askAgain.status).toBe(409);

    // Bob proves a number of his own: it becomes his, and signs him in.
    const bobs = newNumber();
    await t.request('POST', '/api/auth/phone/send-verification', {
      body: { phone: bobs },
      token: bob.accessToken,
    });
    const verified = await t.request('POST', '/api/auth/phone/verify', {
      body: { phone: bobs, otp: await twilio.nextCode(bobs) },
      token: bob.accessToken,
    });
    expect(verified.status).toBe(200);
    expect(verified.body.user).toMatchObject({ id: bob.userId, phone: bobs, phoneVerified: true });
    expect(verified.body.user.providers).toEqual(['email', 'phone']);
    expect((await signInByPhone(bobs)).user.id).toBe(bob.userId);

    // He can remove it (he has a password); a phone-only account cannot remove its only way in.
    const removed = await t.request('DELETE', '/api/auth/phone', { token: bob.accessToken });
    expect(removed.body.user).toMatchObject({ phone: null, phoneVerified: false });
    const onlyWay = await t.request('DELETE', '/api/auth/phone', { token: owner.accessToken });
    expect(onlyWay.status).toBe(400);
    expect(onlyWay.body.error).toBe('AUTH_LAST_SIGN_IN_METHOD');
  });

  it('says so when Twilio refuses the message', async () => {
    const { accessToken } = await t.signUpUser();
    twilio.failWith(500);
    try {
      const res = await t.request('POST', '/api/auth/phone/send-verification', {
        body: { phone: newNumber() },
        token: accessToken,
      });
      expect(res.status).toBe(502);
      expect(res.body.error).toBe('AUTH_SMS_DELIVERY_FAILED');
    } finally {
      twilio.failWith(undefined);
    }
  });
});

describe('without an SMS provider', () => {
  it('the phone routes say so (503), after checking the number', async () => {
    const none = await startTestApp({}, { SMS_PROVIDER: 'none' });
    try {
      const { accessToken } = await none.signUpUser();
      for (const [path, token] of [
        ['/api/auth/phone/send-otp', undefined],
        ['/api/auth/phone/send-verification', accessToken],
      ] as const) {
        const res = await none.request('POST', path, { body: { phone: newNumber() }, token });
        expect(res.status).toBe(503);
        expect(res.body.error).toBe('AUTH_SMS_NOT_CONFIGURED');
        const bad = await none.request('POST', path, { body: { phone: '123' }, token });
        expect(bad.body.error).toBe('AUTH_INVALID_PHONE');
      }
      const signIn = await none.request('POST', '/api/auth/phone/sign-in', {
        body: { phone: newNumber(), otp: '123456' },
      });
      expect(signIn.status).toBe(503);
    } finally {
      await none.stop();
    }
  });
});

describe('SMS provider settings', () => {
  it('log outside production, none in production, twilio when configured (all three required)', () => {
    expect(loadConfig({}).sms.provider).toBe('log');
    expect(
      loadConfig({
        NODE_ENV: 'production',
        JWT_SECRET: 'x'.repeat(32),
        ADMIN_PASSWORD: 'long enough',
      }).sms.provider,
    ).toBe('none');
    const sid = 'AC' + 'a'.repeat(32);
    expect(
      loadConfig({ TWILIO_ACCOUNT_SID: sid, TWILIO_AUTH_TOKEN: 't', TWILIO_FROM: '+15005550006' })
        .sms,
    ).toMatchObject({ provider: 'twilio', twilio: { apiBase: 'https://api.twilio.com' } });
    let problems: string[] = [];
    try {
      loadConfig({
        SMS_PROVIDER: 'twilio',
        TWILIO_FROM: 'not a sender!',
        SMS_DEFAULT_COUNTRY: 'usa',
      });
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems.join('\n')).toMatch(/TWILIO_FROM/);
    expect(problems.join('\n')).toMatch(/SMS_DEFAULT_COUNTRY/);
  });
});
