import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.stop();
});

const admin = (method: string, p: string, body?: unknown) =>
  t.request(method, p, { token: t.apiKey, body });

async function trail(query = '') {
  // Records are written once their responses have finished: wait for those under way.
  await new Promise((r) => setImmediate(r));
  await t.app.audit.settled();
  return (await admin('GET', `/api/logs/audits${query}`)).body;
}

describe('audit trail', () => {
  it('records admin actions with actor, module, action and redacted details; not data traffic', async () => {
    expect(
      (
        await admin('POST', '/api/database/tables', {
          tableName: 'audited',
          columns: [{ columnName: 'title', type: 'string', isNullable: true, isUnique: false }],
        })
      ).status,
    ).toBe(201);
    expect(
      (await admin('POST', '/api/secrets', { key: 'TOP', value: 'very-secret-value' })).status,
    ).toBe(201);
    expect((await admin('PUT', '/api/auth/config', { passwordMinLength: 8 })).status).toBe(200);
    expect(
      (await admin('POST', '/api/database/advance/rawsql', { query: 'SELECT 1 AS one' })).status,
    ).toBe(200);
    expect(
      (await admin('POST', '/api/metadata/anon-key/rotate', { graceSeconds: 60 })).status,
    ).toBe(200);
    const user = await t.signUpUser();
    expect((await admin('DELETE', '/api/auth/users', { userIds: [user.userId] })).status).toBe(200);
    // Not admin actions: a user's own writes, admin data writes, failed attempts.
    const other = await t.signUpUser();
    await t.request('PATCH', '/api/auth/profiles/current', {
      token: other.accessToken,
      body: { profile: { name: 'x' } },
    });
    await admin('POST', '/api/database/records/audited', [{ title: 'row' }]);
    expect((await admin('DELETE', '/api/secrets/NOPE')).status).toBe(404);

    const all = await trail('?limit=50');
    const actions = all.data.map((r: any) => r.action);
    expect(actions).toEqual([
      'DELETE_USERS',
      'ROTATE_KEY',
      'RUN_SQL',
      'UPDATE_AUTH_CONFIG',
      'CREATE_SECRET',
      'CREATE_TABLE',
    ]);
    const secret = all.data.find((r: any) => r.action === 'CREATE_SECRET');
    expect(secret).toMatchObject({
      actor: 'api key',
      module: 'secrets',
      details: {
        method: 'POST',
        path: '/api/secrets',
        status: 201,
        input: { key: 'TOP', value: '[redacted]' },
      },
    });
    expect(JSON.stringify(all)).not.toContain('very-secret-value');
    expect(all.data.find((r: any) => r.action === 'RUN_SQL').details.input.query).toBe(
      'SELECT 1 AS one',
    );
    expect(all.data.find((r: any) => r.action === 'ROTATE_KEY').details.target).toBe('anon');
    expect(all.pagination.total).toBe(6);

    // An admin session records the admin's email.
    const token = await t.adminToken();
    await t.request('PUT', '/api/auth/config', { token, body: { passwordMinLength: 6 } });
    const mine = await trail('?module=auth&limit=1');
    expect(mine.data[0]).toMatchObject({ action: 'UPDATE_AUTH_CONFIG', actor: 'admin@kiln.test' });
    expect(mine.pagination.total).toBe(4);

    const page = await trail('?limit=2&offset=2');
    expect(page.data.map((r: any) => r.action)).toEqual(['ROTATE_KEY', 'RUN_SQL']);
    const stats = (await admin('GET', '/api/logs/audits/stats')).body;
    expect(stats.total).toBe(7);
    expect(stats.byModule).toContainEqual({ module: 'auth', count: 4 });
    // The same counts under InsForge's names, and the newest records.
    expect(stats).toMatchObject({ totalLogs: 7, uniqueActors: expect.any(Number) });
    expect(stats.actionsByModule.auth).toBe(4);
    expect(stats.uniqueModules).toBe(stats.byModule.length);
    expect(stats.recentActivity.map((r: any) => r.id)).toEqual(
      (await trail('?limit=7')).data.map((r: any) => r.id),
    );
    // InsForge's ipAddress beside Kiln's ip; records are never changed (updatedAt = createdAt).
    for (const r of all.data) {
      expect(r.ipAddress).toBe(r.ip);
      expect(r.updatedAt).toBe(r.createdAt);
    }

    expect((await admin('GET', '/api/logs/audits?from=yesterday')).status).toBe(400);
    expect((await t.request('GET', '/api/logs/audits', { token: other.accessToken })).status).toBe(
      403,
    );
    const cleared = await admin(
      'DELETE',
      `/api/logs/audits?before=${new Date(Date.now() + 1000).toISOString()}`,
    );
    expect(cleared.body.deletedCount).toBeGreaterThanOrEqual(7);
    // The purge itself is on the record, and so are writes whatever the path's case.
    expect((await admin('POST', '/API/Secrets', { key: 'CASE_TEST', value: 'v' })).status).toBe(
      201,
    );
    const after = (await trail()).data as Array<{ action: string }>;
    expect(after.map((e) => e.action)).toEqual(
      expect.arrayContaining(['PURGE_AUDIT_LOG', 'CREATE_SECRET']),
    );
  });
});

describe('auth.logs', () => {
  it('records authentication events with their outcome, never the secrets', async () => {
    const user = await t.signUpUser();
    await t.request('POST', '/api/auth/sessions', {
      body: { email: user.email, password: 'not the password' },
    });
    await t.request('POST', '/api/auth/sessions', {
      body: { email: user.email, password: user.password },
    });
    // Log lines are written after the responses: wait for both of this user's sign-ins (a loaded
    // machine can take seconds).
    let logs: any[] = [];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      logs = (await admin('GET', '/api/logs/auth.logs?limit=50')).body.logs ?? [];
      const mine = logs.filter(
        (l: any) => l.message === 'sign_in' && l.metadata.email === user.email,
      );
      if (mine.length >= 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const signIns = logs.filter(
      (l: any) => l.message === 'sign_in' && l.metadata.email === user.email,
    );
    expect(signIns.map((l: any) => [l.level, l.metadata.outcome, l.metadata.status])).toEqual([
      ['info', 'success', 200],
      ['warn', 'failure', 401],
    ]);
    expect(logs.some((l: any) => l.message === 'sign_up' && l.metadata.outcome === 'success')).toBe(
      true,
    );
    expect(JSON.stringify(logs)).not.toContain(user.password);
    expect(JSON.stringify(logs)).not.toContain('not the password');
  });
});
