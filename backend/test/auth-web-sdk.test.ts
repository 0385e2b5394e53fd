import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { JSDOM } from 'jsdom';
import makeFetchCookie from 'fetch-cookie';
import { CookieJar } from 'tough-cookie';
import { createClient } from '@insforge/sdk';
import { startTestApp, type TestApp } from './helpers.js';

/**
 * The SDK in "web" mode, as it runs in a browser: a page (jsdom, for `document.cookie`, where the
 * SDK keeps the CSRF token) and a fetch that stores and sends cookies (tough-cookie jar, for the
 * httpOnly refresh cookie). The access token lives a minute, and the test that needs it expired
 * moves the clock past that minute, so the SDK's own auto-refresh runs. (A token living one second,
 * waited out, was a flake: the token the SDK got by refreshing could expire too, at the next turn
 * of the second, before the retried call reached the server.)
 */
const ACCESS_TOKEN_TTL_SECONDS = 60;
let t: TestApp;
let dom: JSDOM;
beforeAll(async () => {
  t = await startTestApp({ accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS });
  dom = new JSDOM('<!doctype html><p>app</p>', { url: 'http://app.localhost:5173/' });
  Object.assign(globalThis, { window: dom.window, document: dom.window.document });
});
afterAll(async () => {
  delete (globalThis as Record<string, unknown>).window;
  delete (globalThis as Record<string, unknown>).document;
  dom?.window.close();
  await t?.stop();
});

function browserClient() {
  const jar = new CookieJar();
  const fetchWithCookies = makeFetchCookie(fetch, jar);
  const client = createClient({
    baseUrl: t.baseUrl,
    anonKey: t.anonKey,
    fetch: fetchWithCookies as typeof fetch,
    retryCount: 0,
    auth: { detectOAuthCallback: false },
  });
  return { client, jar };
}

describe('@insforge/sdk in web mode', () => {
  it('refreshes an expired access token by itself (cookie + CSRF) and retries the call', async () => {
    const { client, jar } = browserClient();
    const email = `web-${Date.now()}@example.com`;
    const signUp = await client.auth.signUp({ email, password: 'web-pass-123', name: 'Web' });
    expect(signUp.error).toBeNull();
    expect(signUp.data?.refreshToken).toBeUndefined();
    const userId = signUp.data!.user!.id;
    const firstToken = signUp.data!.accessToken!;
    expect(document.cookie).toContain('insforge_csrf_token=');
    const stored = await jar.getCookies(`${t.baseUrl}/api/auth/refresh`);
    expect(stored.map((c) => c.key)).toContain('insforge_refresh_token');

    const events: string[] = [];
    client.auth.onAuthStateChange((event) => events.push(event));

    // The clock (the server's and the SDK's: one process) moves past the token's life, then stands.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + (ACCESS_TOKEN_TTL_SECONDS + 1) * 1000);
    try {
      // The token has expired: the server answers 401 AUTH_UNAUTHORIZED, the SDK refreshes and retries.
      const profile = await client.auth.getProfile(userId);
      expect(profile.error).toBeNull();
      expect(profile.data).toEqual({ id: userId, profile: { name: 'Web' } });
      expect(events).toContain('tokenRefreshed');
      const current = await client.auth.getCurrentUser();
      expect(current.data.user?.id).toBe(userId);
      expect(client.getHttpClient().getHeaders().Authorization).not.toBe(`Bearer ${firstToken}`);
    } finally {
      vi.useRealTimers();
    }
  });

  it('signs out: the refresh cookie stops working', async () => {
    const { client, jar } = browserClient();
    const signUp = await client.auth.signUp({
      email: `out-${Date.now()}@example.com`,
      password: 'web-pass-123',
    });
    expect(signUp.error).toBeNull();
    const [cookie] = (await jar.getCookies(`${t.baseUrl}/api/auth/refresh`)).filter(
      (c) => c.key === 'insforge_refresh_token',
    );
    expect(cookie).toBeDefined();
    const csrf = decodeURIComponent(/insforge_csrf_token=([^;]+)/.exec(document.cookie)![1]!);

    const { error } = await client.auth.signOut();
    expect(error).toBeNull();
    const after = await client.auth.refreshSession();
    expect(after.error).toMatchObject({ statusCode: 401 });

    // Even the old cookie value, replayed by hand with its CSRF token, is dead.
    const replay = await t.request('POST', '/api/auth/refresh', {
      headers: { cookie: `insforge_refresh_token=${cookie!.value}`, 'x-csrf-token': csrf },
    });
    expect(replay.status).toBe(401);
    expect(replay.body.message).toMatch(/signed out/);
  });
});
