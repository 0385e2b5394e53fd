/**
 * Issue 15, items 5, 11 and 13: what a fresh project allows before anyone configures it.
 * Tables are born closed, the advisor names what is open, raw mail is for admins, AI and storage
 * have per-user allowances, buckets take user uploads only when they say so (enforced by the
 * objects policy), and the audit trail keeps statements but never the values or secrets in them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/core/config.js';
import { redactSecretsInText } from '../src/audit/redact.js';
import { FAKE_KEY, FakeOpenAI } from './fake-openai.js';
import { startTestApp, type TestApp } from './helpers.js';

let t: TestApp;
const upstream = new FakeOpenAI();
beforeAll(async () => {
  await upstream.start();
  t = await startTestApp(
    {},
    {
      OPENROUTER_API_KEY: FAKE_KEY,
      OPENROUTER_BASE_URL: upstream.url,
      // Small enough to reach in a test; the defaults are checked on loadConfig below.
      AI_USER_DAILY_REQUESTS: '2',
      STORAGE_USER_QUOTA_BYTES: '1000',
    },
  );
});
afterAll(async () => {
  await t?.stop();
  await upstream.stop();
});

const admin = (method: string, p: string, body?: unknown) =>
  t.request(method, p, { token: t.apiKey, body });

describe('defaults of a fresh configuration', () => {
  it('are never unlimited or open', () => {
    const c = loadConfig({});
    expect(c.emailSendRawUsers).toBe(false);
    expect(c.emailSendRawUserMaxRecipients).toBe(10);
    expect(c.ai.userDailyDefaults).toEqual({ requests: 200, tokens: 200_000, images: 20 });
    expect(c.storageUserQuotaBytes).toBe(1024 ** 3);
  });
});

describe('tables are born closed (item 5)', () => {
  it('turns RLS on unless rlsEnabled: false is sent, and says so', async () => {
    const closed = await admin('POST', '/api/database/tables', {
      tableName: 'born_closed',
      columns: [{ columnName: 'title', type: 'string' }],
    });
    expect(closed.status).toBe(201);
    expect(closed.body.rlsEnabled).toBe(true);
    expect(closed.body.nextActions).toMatch(/add policies/);
    expect((await admin('GET', '/api/database/tables/born_closed/schema')).body.rlsEnabled).toBe(
      true,
    );
    const anon = t.sdk().database;
    const write = await anon.from('born_closed').insert({ title: 'graffiti' });
    expect(write.error?.code).toBe('42501');
    await admin('POST', '/api/database/records/born_closed', [{ title: 'admin row' }]);
    expect((await anon.from('born_closed').select('title')).data).toEqual([]);
    expect((await anon.from('born_closed').delete().neq('title', '').select('title')).data).toEqual(
      [],
    );
    const user = await t.signUpUser();
    expect((await user.client.database.from('born_closed').select('title')).data).toEqual([]);

    const open = await admin('POST', '/api/database/tables', {
      tableName: 'born_open',
      rlsEnabled: false,
      columns: [{ columnName: 'title', type: 'string' }],
    });
    expect(open.status).toBe(201);
    expect(open.body.rlsEnabled).toBe(false);
    expect(open.body.nextActions).toMatch(/anon key/);
    expect((await admin('GET', '/api/database/tables/born_open/schema')).body.rlsEnabled).toBe(
      false,
    );
    expect((await anon.from('born_open').insert({ title: 'public' })).error).toBeNull();
  });

  it('the advisor lists what anon and users reach without RLS, and nothing once it is fixed', async () => {
    await admin('POST', '/api/database/tables', {
      tableName: 'adv_open',
      rlsEnabled: false,
      columns: [{ columnName: 'note', type: 'string' }],
    });
    await admin('POST', '/api/database/tables', {
      tableName: 'adv_closed',
      columns: [{ columnName: 'note', type: 'string' }],
    });
    const sql = await admin('POST', '/api/database/advance/rawsql', {
      query: `CREATE TABLE adv_by_sql (id int PRIMARY KEY, secret text);
              REVOKE INSERT, UPDATE, DELETE ON adv_by_sql FROM anon;
              CREATE VIEW adv_view AS SELECT note FROM adv_closed;
              CREATE TABLE adv_private (id int);
              REVOKE ALL ON adv_private FROM anon, authenticated;`,
    });
    expect(sql.status).toBe(200);

    const res = await admin('GET', '/api/database/advisor');
    expect(res.status).toBe(200);
    const find = (table: string) =>
      (res.body.data as Array<{ table: string; kind: string }>).filter((f) => f.table === table);
    expect(find('adv_open')).toEqual([
      expect.objectContaining({
        kind: 'rls_disabled',
        severity: 'critical',
        schema: 'public',
        exposedTo: ['anon', 'authenticated'],
        privileges: {
          anon: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
          authenticated: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
        },
      }),
    ]);
    expect(find('adv_by_sql')).toEqual([
      expect.objectContaining({
        kind: 'rls_disabled',
        exposedTo: ['anon', 'authenticated'],
        privileges: expect.objectContaining({ anon: ['SELECT'] }),
      }),
    ]);
    expect(find('adv_view')).toEqual([expect.objectContaining({ kind: 'view_bypasses_rls' })]);
    expect(find('adv_closed')).toEqual([
      expect.objectContaining({ kind: 'rls_no_policy', severity: 'info' }),
    ]);
    expect(find('adv_private')).toEqual([]);
    expect(res.body.data[0].severity).toBe('critical');

    expect(
      (await admin('PATCH', '/api/database/tables/adv_open/schema', { rlsEnabled: true })).status,
    ).toBe(200);
    await admin('POST', '/api/database/policies', {
      tableName: 'adv_open',
      policyName: 'everyone_reads',
      command: 'SELECT',
      using: 'true',
    });
    const after = (await admin('GET', '/api/database/advisor')).body.data as Array<{
      table: string;
    }>;
    expect(after.filter((f) => f.table === 'adv_open')).toEqual([]);

    const user = await t.signUpUser();
    const refused = await t.request('GET', '/api/database/advisor', { token: user.accessToken });
    expect(refused.status).toBe(403);
  });

  it('the advisor also names column grants and SECURITY DEFINER functions anon and users can call', async () => {
    const sql = await admin('POST', '/api/database/advance/rawsql', {
      query: `CREATE TABLE adv_columns (id int PRIMARY KEY, email text, ssn text);
              INSERT INTO adv_columns VALUES (1, 'a@example.com', '123-45-6789');
              REVOKE ALL ON adv_columns FROM anon, authenticated;
              GRANT SELECT (id, ssn) ON adv_columns TO anon;
              CREATE TABLE adv_hidden (id int PRIMARY KEY, note text);
              ALTER TABLE adv_hidden ENABLE ROW LEVEL SECURITY;
              INSERT INTO adv_hidden VALUES (1, 'for admins');
              CREATE FUNCTION adv_all_hidden() RETURNS SETOF adv_hidden
                LANGUAGE sql SECURITY DEFINER AS 'SELECT * FROM adv_hidden';
              CREATE FUNCTION adv_admin_only(n int) RETURNS int
                LANGUAGE sql SECURITY DEFINER AS 'SELECT n';
              REVOKE EXECUTE ON FUNCTION adv_admin_only(int) FROM PUBLIC, anon, authenticated;
              CREATE FUNCTION adv_invoker() RETURNS int LANGUAGE sql AS 'SELECT 1';`,
    });
    expect(sql.status).toBe(200);
    // What the advisor must see: anon reads the column through the records API, and the
    // function's rows through RPC, past RLS.
    const anon = await t.request('GET', '/api/database/records/adv_columns?select=ssn', {
      token: t.anonKey,
    });
    expect(anon.body).toEqual([{ ssn: '123-45-6789' }]);
    const rpc = await t.request('POST', '/api/database/rpc/adv_all_hidden', {
      token: t.anonKey,
      body: {},
    });
    expect(rpc.body).toEqual([{ id: 1, note: 'for admins' }]);

    const data = (await admin('GET', '/api/database/advisor')).body.data as Array<{
      table: string;
      kind: string;
      exposedTo: string[];
    }>;
    // What anon and users reach (other rules, e.g. a definer's search_path, are advisor.test.ts's).
    const find = (table: string) => data.filter((f) => f.table === table && f.exposedTo.length > 0);
    expect(find('adv_columns')).toEqual([
      expect.objectContaining({
        kind: 'rls_disabled',
        severity: 'critical',
        exposedTo: ['anon'],
        privileges: { anon: ['SELECT'] },
      }),
    ]);
    expect(find('adv_all_hidden()')).toEqual([
      expect.objectContaining({
        kind: 'function_bypasses_rls',
        severity: 'warning',
        schema: 'public',
        exposedTo: ['anon', 'authenticated'],
        privileges: { anon: ['EXECUTE'], authenticated: ['EXECUTE'] },
        remediation: expect.stringContaining('REVOKE EXECUTE ON FUNCTION'),
      }),
    ]);
    expect(find('adv_admin_only(n integer)')).toEqual([]);
    expect(find('adv_invoker()')).toEqual([]);
  });
});

describe('raw mail is for admins unless enabled (item 11)', () => {
  const message = { to: 'friend@example.com', subject: 'Hi', html: '<p>hi</p>' };

  it('refuses signed-in users by default with 403 and what to do; anon still 401; admins send', async () => {
    const user = await t.signUpUser();
    const refused = await t.request('POST', '/api/email/send-raw', {
      token: user.accessToken,
      body: message,
    });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: 'EMAIL_SEND_RAW_DISABLED', statusCode: 403 });
    expect(refused.body.nextActions).toMatch(/EMAIL_SEND_RAW_USERS=true/);
    const viaSdk = await user.client.emails.send(message);
    expect(viaSdk.error?.statusCode).toBe(403);
    const anon = await t.request('POST', '/api/email/send-raw', {
      token: t.anonKey,
      body: message,
    });
    expect(anon.status).toBe(401);
    const asAdmin = await admin('POST', '/api/email/send-raw', message);
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.body.success).toBe(true);
  });

  it('when enabled for users, caps the recipients of a user message (not of an admin one)', async () => {
    const open = await startTestApp({}, { EMAIL_SEND_RAW_USERS: 'true' });
    try {
      const user = await open.signUpUser();
      const many = Array.from({ length: 6 }, (_, i) => `r${i}@example.com`);
      const send = (token: string, body: unknown) =>
        open.request('POST', '/api/email/send-raw', { token, body });
      const ok = await send(user.accessToken, { ...message, to: many, cc: many.slice(0, 4) });
      expect(ok.status).toBe(200);
      const tooMany = await send(user.accessToken, { ...message, to: many, cc: many });
      expect(tooMany.status).toBe(400);
      expect(tooMany.body.error).toBe('EMAIL_TOO_MANY_RECIPIENTS');
      expect((await send(open.apiKey, { ...message, to: many, cc: many })).status).toBe(200);
    } finally {
      await open.stop();
    }
  });
});

describe('AI has per-user allowances by default (item 11)', () => {
  const chat = { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

  it('applies the server defaults where the configuration sets none; 0 means unlimited', async () => {
    const cfg = (await admin('GET', '/api/ai/config')).body;
    expect(cfg.limits).toMatchObject({ requestsPerDay: null, tokensPerDay: null });
    expect(cfg.effectiveLimits).toEqual({
      requestsPerMinute: null,
      requestsPerDay: 2,
      tokensPerDay: 200_000,
      imagesPerDay: 20,
    });
    const user = await t.signUpUser();
    const ask = () =>
      t.request('POST', '/api/ai/chat/completion', { token: user.accessToken, body: chat });
    expect((await ask()).status).toBe(200);
    // A big allowance does not invent a max_tokens the client did not ask for (some upstreams
    // refuse one above the model's output limit).
    expect(upstream.requests.at(-1)!.body.max_tokens).toBeUndefined();
    expect((await ask()).status).toBe(200);
    const third = await ask();
    expect(third.status).toBe(429);
    expect(third.body.error).toBe('AI_USAGE_LIMIT_EXCEEDED');
    expect(third.body.nextActions).toMatch(/AI_USER_DAILY_REQUESTS/);
    expect((await admin('POST', '/api/ai/chat/completion', chat)).status).toBe(200);

    expect((await admin('PUT', '/api/ai/config', { limits: { requestsPerDay: 0 } })).status).toBe(
      200,
    );
    expect((await admin('GET', '/api/ai/config')).body.effectiveLimits.requestsPerDay).toBeNull();
    expect((await ask()).status).toBe(200);
    await admin('PUT', '/api/ai/config', { limits: { requestsPerDay: null } });
    expect((await ask()).status).toBe(429);
    expect((await admin('PUT', '/api/ai/config', { limits: { tokensPerDay: -1 } })).status).toBe(
      400,
    );
  });

  it('counts the tokens of a stream the caller ends early, and ends an answer where the allowance does', async () => {
    expect(
      (await admin('PUT', '/api/ai/config', { limits: { requestsPerDay: 0, tokensPerDay: 100 } }))
        .status,
    ).toBe(200);
    try {
      // One call cannot be longer than what is left of the allowance.
      const capped = await t.signUpUser();
      const asked = await t.request('POST', '/api/ai/chat/completion', {
        token: capped.accessToken,
        body: { ...chat, maxTokens: 5000 },
      });
      expect(asked.status).toBe(200);
      expect(upstream.requests.at(-1)!.body.max_tokens).toBe(100);

      // A stream read almost to its end and then dropped (before the upstream's usage chunk).
      const user = await t.signUpUser();
      const controller = new AbortController();
      const res = await fetch(`${t.baseUrl}/api/ai/chat/completion`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${user.accessToken}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          model: 'endless/model',
          messages: [{ role: 'user', content: 'go on forever' }],
          stream: true,
        }),
        signal: controller.signal,
      });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      let text = '';
      while (text.length < 4000) text += new TextDecoder().decode((await reader.read()).value);
      controller.abort();
      let recorded: { status: string; totalTokens: number } | undefined;
      for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
        const rows = (await admin('GET', `/api/ai/usage?userId=${user.userId}`)).body.data;
        recorded = rows.find((r: { status: string }) => r.status !== 'pending');
        if (recorded) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(recorded).toMatchObject({ status: 'aborted' });
      expect(recorded!.totalTokens).toBeGreaterThanOrEqual(100);
      const next = await t.request('POST', '/api/ai/chat/completion', {
        token: user.accessToken,
        body: { ...chat, stream: true },
      });
      expect(next.status).toBe(429);
      expect(next.body.error).toBe('AI_USAGE_LIMIT_EXCEEDED');

      // Parallel calls hold their tokens while in flight: together they get no more than the
      // allowance, and the calls beyond it are refused.
      const parallel = await t.signUpUser();
      upstream.slowMs = 300;
      const sentBefore = upstream.requests.length;
      const answers = await Promise.all(
        Array.from({ length: 6 }, () =>
          t.request('POST', '/api/ai/chat/completion', {
            token: parallel.accessToken,
            body: { ...chat, model: 'slow/model', maxTokens: 30 },
          }),
        ),
      );
      const granted = upstream.requests.slice(sentBefore).map((r) => r.body.max_tokens as number);
      expect(answers.filter((a) => a.status === 200)).toHaveLength(granted.length);
      expect(answers.filter((a) => a.status === 429).length).toBeGreaterThan(0);
      expect(granted.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(100);
    } finally {
      upstream.slowMs = 3000;
      await admin('PUT', '/api/ai/config', {
        limits: { requestsPerDay: null, tokensPerDay: null },
      });
    }
  });
});

describe('storage uploads only where the bucket allows, within a quota (item 11)', () => {
  it('new buckets take no user uploads (the objects policy refuses them) until opened', async () => {
    const created = await admin('POST', '/api/storage/buckets', {
      bucketName: 'closed-private',
      isPublic: false,
    });
    expect(created.status).toBe(201);
    expect(created.body.allowUserUploads).toBe(false);
    expect(
      (await admin('POST', '/api/storage/buckets', { bucketName: 'closed-public', isPublic: true }))
        .body.allowUserUploads,
    ).toBe(false);
    const user = await t.signUpUser();
    for (const bucket of ['closed-private', 'closed-public']) {
      const up = await user.client.storage.from(bucket).upload('a.txt', new Blob(['hello']));
      expect(up.error?.statusCode, bucket).toBe(403);
      expect(up.error?.error, bucket).toBe('STORAGE_PERMISSION_DENIED');
      const strategy = await t.request('POST', `/api/storage/buckets/${bucket}/upload-strategy`, {
        token: user.accessToken,
        body: { filename: 'b.txt', size: 5 },
      });
      expect(strategy.status, bucket).toBe(403);
    }
    // The database is the gate, not only the route: a user's row is refused by the policy.
    const asUser = {
      role: 'authenticated' as const,
      sub: user.userId,
      credential: 'jwt' as const,
      claims: { sub: user.userId, role: 'authenticated' },
    };
    const denied = await t.app.db
      .withPrincipal(asUser, (tx) =>
        tx.query(
          `INSERT INTO storage.objects (bucket, key, storage_path, size, mime_type, etag, owner)
           VALUES ('closed-private', 'sneaky.txt', 'closed-private/00/sneaky', 5, 'text/plain', 'x', auth.uid())`,
        ),
      )
      .then(
        () => 'inserted',
        (err: { code?: string }) => err.code,
      );
    expect(denied).toBe('42501');
    // Admins upload anywhere.
    const adminUp = await t
      .sdk({ accessToken: t.apiKey })
      .storage.from('closed-private')
      .upload('admin.txt', new Blob(['from the server']));
    expect(adminUp.error).toBeNull();

    const opened = await admin('PATCH', '/api/storage/buckets/closed-private', {
      allowUserUploads: true,
    });
    expect(opened.body.allowUserUploads).toBe(true);
    const up = await user.client.storage.from('closed-private').upload('a.txt', new Blob(['hi']));
    expect(up.error).toBeNull();
    expect(
      (await admin('GET', '/api/storage/buckets')).body.find(
        (b: { name: string }) => b.name === 'closed-public',
      ).allowUserUploads,
    ).toBe(false);
  });

  it('counts what each user stores against STORAGE_USER_QUOTA_BYTES, parallel uploads included', async () => {
    await admin('POST', '/api/storage/buckets', {
      bucketName: 'quota',
      isPublic: false,
      allowUserUploads: true,
    });
    const user = await t.signUpUser();
    const files = user.client.storage.from('quota');
    const bytes = (n: number) => new Blob(['x'.repeat(n)], { type: 'text/plain' });
    expect((await files.upload('one.txt', bytes(600))).error).toBeNull();
    const over = await files.upload('two.txt', bytes(600));
    expect(over.error?.statusCode).toBe(413);
    expect(over.error?.error).toBe('STORAGE_INSUFFICIENT_QUOTA');
    // A new version replaces the old one in the count.
    expect((await files.upload('one.txt', bytes(900))).error).toBeNull();
    expect((await files.upload('three.txt', bytes(200))).error?.statusCode).toBe(413);
    // Deleting frees room.
    expect((await files.remove('one.txt')).error).toBeNull();
    expect((await files.upload('three.txt', bytes(200))).error).toBeNull();

    // Parallel uploads of one user count each other: 300 × 5 into 1000 bytes → exactly 3.
    const racer = await t.signUpUser();
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        racer.client.storage.from('quota').upload(`r${i}.txt`, bytes(300)),
      ),
    );
    expect(results.filter((r) => r.error === null)).toHaveLength(3);
    expect(results.filter((r) => r.error?.statusCode === 413)).toHaveLength(2);
    const stored = await t.app.db.query<{ n: number; total: number }>(
      `SELECT count(*)::int AS n, sum(size)::int AS total FROM storage.objects WHERE owner = $1`,
      [racer.userId],
    );
    expect(stored.rows[0]).toEqual({ n: 3, total: 900 });
    // Admins are not counted against anyone.
    const big = await t
      .sdk({ accessToken: t.apiKey })
      .storage.from('quota')
      .upload('big.txt', bytes(5000));
    expect(big.error).toBeNull();
  });
});

describe('the audit trail keeps statements, not values or secrets (item 13)', () => {
  it('redacts bound parameters and secret-looking literals in every record', async () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhdWRpdC10ZXN0In0.c2lnbmF0dXJlLWhlcmU';
    const stripe = 'sk_live_51HqLyjWDarjtT1zdp7dcAUDIT';
    const since = new Date(Date.now() - 1).toISOString();
    await admin('POST', '/api/database/advance/rawsql', {
      query: 'CREATE TABLE audit_accounts (email text, password text)',
    });
    const run = await admin('POST', '/api/database/advance/rawsql', {
      query: `SELECT $1::text AS email, $2::int AS n, '${stripe}' AS k, '${jwt}' AS token_value, '${t.apiKey}' AS api`,
      params: ['param-value-hunter2', 42],
    });
    expect(run.status).toBe(200);
    const update = await admin('POST', '/api/database/advance/rawsql', {
      query: "UPDATE audit_accounts SET password = 'Tr0ub4dor&3-plain' WHERE email = $1",
      params: ['someone@example.com'],
    });
    expect(update.status).toBe(200);

    let records: Array<{ action: string; details: { input: Record<string, unknown> } }> = [];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      records = (await admin('GET', `/api/logs/audits?action=RUN_SQL&limit=10&from=${since}`)).body
        .data;
      if (records.length >= 3) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(records).toHaveLength(3);
    const text = JSON.stringify(records);
    for (const secret of [
      'param-value-hunter2',
      'someone@example.com',
      stripe.slice(8),
      jwt,
      t.apiKey.slice(3),
      'Tr0ub4dor&3-plain',
    ]) {
      expect(text, secret).not.toContain(secret);
    }
    const [upd, sel] = records;
    // The statement is kept (with its placeholders); its values are not.
    expect(sel!.details.input.query).toMatch(
      /^SELECT \$1::text AS email, \$2::int AS n, 'sk_live_/,
    );
    expect(sel!.details.input.params).toBe('[redacted]: 2 values');
    expect(upd!.details.input.query).toBe(
      "UPDATE audit_accounts SET password = '[redacted]' WHERE email = $1",
    );
  });

  it('masks token-like literals however they are quoted and the token of a capability URL, and keeps flags', async () => {
    const since = new Date(Date.now() - 1).toISOString();
    const key = 'Zq8vN2xLmP4rT7wY1bC5dF9gH3jK6sA0';
    const run = await admin('POST', '/api/database/advance/rawsql', {
      query: `SELECT $$${key}1$$ AS a, $k$${key}2$k$ AS b, '{"stripe": "${key}3"}'::jsonb AS c`,
    });
    expect(run.status).toBe(200);
    const hook = 'https://hooks.example.com/services/T0ABCDEF1/B0ABCDEF2/aB3dE5gH7jK9mN1pQ3sT5vW7';
    const channel = await admin('POST', '/api/realtime/channels', {
      pattern: 'audit-hooks:%',
      webhookUrls: [hook],
    });
    expect(channel.status).toBe(201);
    let text = '';
    for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
      const data = (await admin('GET', `/api/logs/audits?limit=10&from=${since}`)).body.data;
      text = JSON.stringify(data);
      if (data.length >= 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(text).toContain('CREATE_CHANNEL');
    expect(text).toContain('RUN_SQL');
    expect(text).not.toContain(key);
    expect(text).not.toContain('aB3dE5gH7jK9mN1pQ3sT5vW7');
    // What was done stays readable.
    expect(text).toContain('$k$[redacted]$k$ AS b');
    // Flags hold no secret, whatever their name.
    const table = await admin('POST', '/api/database/tables', {
      tableName: 'audit_flags',
      columns: [{ columnName: 'code', type: 'string', isPrimaryKey: true }],
    });
    expect(table.status).toBe(201);
    await t.app.audit.settled();
    const created = (await admin('GET', `/api/logs/audits?action=CREATE_TABLE&from=${since}`)).body
      .data[0];
    expect(created.details.input.columns[0]).toMatchObject({
      columnName: 'code',
      isPrimaryKey: true,
    });
    expect(text).toContain('https://hooks.example.com/services/T0ABCDEF1/B0ABCDEF2/[redacted]');
  });

  it('masks role passwords, connection URLs and provider keys in statement text', () => {
    expect(redactSecretsInText("ALTER ROLE app WITH LOGIN PASSWORD 'Sup3r$ecret'")).toBe(
      "ALTER ROLE app WITH LOGIN PASSWORD '[redacted]'",
    );
    expect(redactSecretsInText('CREATE ROLE app PASSWORD $p$x y z$p$ LOGIN')).toBe(
      "CREATE ROLE app PASSWORD '[redacted]' LOGIN",
    );
    expect(redactSecretsInText("SELECT dblink('postgres://kiln:hunter2@db/app', 'x')")).toBe(
      "SELECT dblink('postgres://kiln:[redacted]@db/app', 'x')",
    );
    expect(
      redactSecretsInText("SELECT 'sk-or-v1-0123456789abcdef', 'ghp_abcdefghij1234567890'"),
    ).toBe("SELECT 'sk-or-v1-[redacted]', 'ghp_[redacted]'");
    // Identifiers and ordinary text stay readable.
    const plain =
      "SELECT * FROM t WHERE id = '1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed' AND note = 'a long plain sentence here'";
    expect(redactSecretsInText(plain)).toBe(plain);
  });
});
