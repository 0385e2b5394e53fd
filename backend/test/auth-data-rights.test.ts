/**
 * The user's own data (issue 22): the export of everything Kiln holds about them, and deletion
 * (self-service when the project allows it, and by an admin) that leaves no rows, objects or
 * sessions behind and runs the project's deletion hook in the same transaction.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import S3rver from 's3rver';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { startTestApp, type TestApp } from './helpers.js';

const SETUP = `
CREATE TABLE public.notes (
  id bigserial PRIMARY KEY,
  owner uuid NOT NULL DEFAULT auth.uid(),
  body text NOT NULL
);
ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY notes_own ON public.notes FOR ALL TO authenticated
  USING (owner = auth.uid()) WITH CHECK (owner = auth.uid());
GRANT ALL ON public.notes TO authenticated, project_admin;
GRANT ALL ON SEQUENCE public.notes_id_seq TO authenticated, project_admin;

-- Rows the app keeps after a user goes, without them: the hook anonymises these.
CREATE TABLE public.posts (
  id bigserial PRIMARY KEY,
  author uuid REFERENCES auth.users (id),
  title text NOT NULL
);
GRANT ALL ON public.posts TO project_admin;

CREATE FUNCTION public.forget_user(uid uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM public.notes WHERE owner = uid AND body = 'legal hold') THEN
    RAISE EXCEPTION 'this account is under a legal hold';
  END IF;
  DELETE FROM public.notes WHERE owner = uid;
  UPDATE public.posts SET author = NULL, title = '[deleted]' WHERE author = uid;
END $$;
`;

/** The same suite with objects on the local disk and in S3 (s3rver on loopback). */
describe.each(['local', 's3'] as const)("the user's own data, objects on %s", (kind) => {
  let t: TestApp;
  let s3server: S3rver | undefined;
  let s3dir: string | undefined;

  beforeAll(async () => {
    let overrides = {};
    if (kind === 's3') {
      s3dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-s3rver-'));
      s3server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3dir });
      const { port } = await s3server.run();
      const endpoint = `http://127.0.0.1:${port}`;
      const client = new S3Client({
        region: 'us-east-1',
        endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      });
      await client.send(new CreateBucketCommand({ Bucket: 'kiln-files' }));
      client.destroy();
      overrides = {
        s3: {
          bucket: 'kiln-files',
          region: 'us-east-1',
          endpoint,
          forcePathStyle: true,
          accessKeyId: 'S3RVER',
          secretAccessKey: 'S3RVER',
          prefix: 'project/',
        },
      };
    }
    t = await startTestApp(
      overrides,
      { AUTH_USER_DELETION_HOOK: 'public.forget_user' },
      { setupSql: SETUP },
    );
    const admin = await t.adminToken();
    const bucket = await t.request('POST', '/api/storage/buckets', {
      token: admin,
      body: { bucketName: 'docs', isPublic: false, allowUserUploads: true },
    });
    expect(bucket.status).toBe(201);
  });

  afterAll(async () => {
    await t?.stop();
    await s3server?.close();
    if (s3dir) fs.rmSync(s3dir, { recursive: true, force: true });
  });

  /** A user with data everywhere Kiln keeps some: rows, an object, a message, a factor, a post. */
  async function userWithData() {
    const user = await t.signUpUser();
    const note = await user.client.database.from('notes').insert({ body: `note of ${user.email}` });
    expect(note.error).toBeNull();
    const up = await user.client.storage
      .from('docs')
      .upload(`${user.userId}/cv.txt`, new Blob(['my curriculum vitae'], { type: 'text/plain' }));
    expect(up.error).toBeNull();
    const { rows: object } = await t.app.db.query<{ storage_path: string }>(
      'SELECT storage_path FROM storage.objects WHERE owner = $1',
      [user.userId],
    );
    await t.app.db.query(
      `INSERT INTO realtime.messages (channel, event, payload, sender_type, sender_id)
     VALUES ('chat:lobby', 'said', '{"text": "hello"}', 'user', $1)`,
      [user.userId],
    );
    await t.app.db.query('UPDATE auth.users SET inbox_confirmed = true WHERE id = $1', [
      user.userId,
    ]);
    await t.app.db.query(
      `INSERT INTO auth.mfa_factors (user_id, friendly_name, secret_encrypted)
     VALUES ($1, 'my phone', 'SECRET-THAT-MUST-NOT-LEAVE')`,
      [user.userId],
    );
    await t.app.db.query(
      `INSERT INTO auth.identities (user_id, provider, provider_user_id, email, email_verified)
     VALUES ($1, 'github', $2, $3, true)`,
      [user.userId, `gh-${user.userId}`, user.email],
    );
    await t.app.db.query(`INSERT INTO public.posts (author, title) VALUES ($1, 'my post')`, [
      user.userId,
    ]);
    return { ...user, storagePath: object[0]!.storage_path };
  }

  /** Every uuid column of every table (Kiln's and the app's) that still holds the id. */
  async function rowsReferencing(userId: string): Promise<string[]> {
    const { rows: columns } = await t.app.db.query<{
      schema: string;
      table: string;
      column: string;
    }>(
      `SELECT c.table_schema AS schema, c.table_name AS table, c.column_name AS column
       FROM information_schema.columns c
       JOIN information_schema.tables tb
         ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
      WHERE c.data_type = 'uuid' AND tb.table_type = 'BASE TABLE'
        AND c.table_schema NOT IN ('pg_catalog', 'information_schema')`,
    );
    const found: string[] = [];
    for (const c of columns) {
      const { rows } = await t.app.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${c.schema}"."${c.table}" WHERE "${c.column}" = $1`,
        [userId],
      );
      if (rows[0]!.n) found.push(`${c.schema}.${c.table}.${c.column}`);
    }
    // Text columns that key something by user (`<id>/<address>` codes).
    const { rows: codes } = await t.app.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM auth.email_codes WHERE email LIKE $1 || '%'`,
      [userId],
    );
    if (codes[0]!.n) found.push('auth.email_codes.email');
    return found;
  }

  it('exports everything Kiln holds about the caller, and nothing of anyone else', async () => {
    const user = await userWithData();
    const other = await userWithData();
    const admin = await t.adminToken();
    const patched = await t.request('PATCH', `/api/auth/users/${user.userId}`, {
      token: admin,
      body: { appMetadata: { plan: 'pro' } },
    });
    expect(patched.status).toBe(200);
    await t.app.audit.settled();

    const res = await t.request('GET', '/api/auth/users/me/export', { token: user.accessToken });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/attachment/);
    const data = res.body;
    expect(data).toMatchObject({
      format: 'kiln-user-export/1',
      user: { id: user.userId, email: user.email, appMetadata: { plan: 'pro' } },
      identities: [{ provider: 'github', providerUserId: `gh-${user.userId}` }],
      mfaFactors: [{ friendlyName: 'my phone', type: 'totp', status: 'unverified' }],
      realtimeMessages: [{ channel: 'chat:lobby', event: 'said', payload: { text: 'hello' } }],
      tables: [
        {
          schema: 'public',
          table: 'notes',
          ownerColumn: 'owner',
          rows: [{ owner: user.userId, body: `note of ${user.email}` }],
        },
      ],
    });
    expect(data.sessions.length).toBeGreaterThanOrEqual(1);
    expect(data.sessions[0]).toMatchObject({ revokedAt: null, revokedReason: null });
    expect(data.auditEntries).toEqual([
      expect.objectContaining({ action: `PATCH /api/auth/users/${user.userId}` }),
    ]);
    // The factor's secret never leaves, nor anything of the other user.
    const text = JSON.stringify(data);
    expect(text).not.toContain('SECRET-THAT-MUST-NOT-LEAVE');
    expect(text).not.toContain(other.userId);
    expect(text).not.toContain(other.email);

    // Objects: metadata and a URL that fetches the bytes.
    expect(data.storageObjects).toHaveLength(1);
    const object = data.storageObjects[0];
    expect(object).toMatchObject({
      bucket: 'docs',
      key: `${user.userId}/cv.txt`,
      size: 19,
      mimeType: 'text/plain',
    });
    // A URL of Kiln's (local disk) takes the user's token; a presigned S3 URL needs nothing.
    const bytes = await fetch(object.downloadUrl, {
      headers: object.downloadUrl.startsWith(t.baseUrl)
        ? { authorization: `Bearer ${user.accessToken}` }
        : {},
    });
    expect(bytes.status).toBe(200);
    expect(await bytes.text()).toBe('my curriculum vitae');

    const anon = await t.request('GET', '/api/auth/users/me/export', { token: t.anonKey });
    expect(anon.status).toBe(401);
  });

  it('refuses self-deletion unless the project allows it, then leaves nothing behind', async () => {
    const user = await userWithData();
    const admin = await t.adminToken();
    const off = await t.request('DELETE', '/api/auth/users/me', { token: user.accessToken });
    expect(off.status).toBe(403);
    expect(off.body.error).toBe('AUTH_ACCOUNT_DELETION_DISABLED');
    expect(await rowsReferencing(user.userId)).not.toEqual([]);

    const on = await t.request('PUT', '/api/auth/config', {
      token: admin,
      body: { allowAccountDeletion: true },
    });
    expect(on.status).toBe(200);
    try {
      // A code waiting for the user's address goes too.
      await t.request('POST', '/api/auth/email/send-otp', { body: { email: user.email } });
      // Both paths erase the same way (InsForge-style /users/current, and /users/me).
      const self = kind === 's3' ? '/api/auth/users/current' : '/api/auth/users/me';
      const gone = await t.request('DELETE', self, { token: user.accessToken });
      expect(gone.status).toBe(200);

      expect(await rowsReferencing(user.userId)).toEqual([]);
      const { rows: codes } = await t.app.db.query(
        'SELECT 1 FROM auth.email_codes WHERE lower(email) = $1',
        [user.email],
      );
      expect(codes).toEqual([]);
      // The bytes are gone from the provider, the session with them.
      expect(await t.app.storage.provider.get(user.storagePath)).toBeUndefined();
      const me = await t.request('GET', '/api/auth/sessions/current', { token: user.accessToken });
      expect(me.status).toBe(401);
      const refreshed = await t.request('POST', '/api/auth/refresh?client_type=mobile', {
        body: { refreshToken: user.refreshToken },
      });
      expect(refreshed.status).toBe(401);
      // The hook ran: the app's kept rows no longer name the user.
      const { rows: posts } = await t.app.db.query<{ author: string | null; title: string }>(
        `SELECT author, title FROM public.posts WHERE title = '[deleted]'`,
      );
      expect(posts).toEqual([{ author: null, title: '[deleted]' }]);
    } finally {
      await t.request('PUT', '/api/auth/config', {
        token: admin,
        body: { allowAccountDeletion: false },
      });
    }
  });

  it('erases the same way when an admin deletes users, and a hook refusal deletes nothing', async () => {
    const admin = await t.adminToken();
    const held = await userWithData();
    const hold = await held.client.database.from('notes').insert({ body: 'legal hold' });
    expect(hold.error).toBeNull();
    const refused = await t.request('DELETE', '/api/auth/users', {
      token: admin,
      body: { userIds: [held.userId] },
    });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: 'AUTH_DELETION_REFUSED' });
    expect(refused.body.message).toMatch(/legal hold/);
    // One transaction: nothing went, the hook's own changes included.
    expect(
      (await t.request('GET', `/api/auth/users/${held.userId}`, { token: admin })).status,
    ).toBe(200);
    const { rows: notes } = await t.app.db.query('SELECT 1 FROM public.notes WHERE owner = $1', [
      held.userId,
    ]);
    expect(notes).toHaveLength(2);
    const kept = await t.app.storage.provider.get(held.storagePath);
    expect(kept).toBeDefined();
    kept?.destroy();

    const user = await userWithData();
    const deleted = await t.request('DELETE', '/api/auth/users', {
      token: admin,
      body: { userIds: [user.userId] },
    });
    expect(deleted.status).toBe(200);
    expect(deleted.body.deletedCount).toBe(1);
    expect(await rowsReferencing(user.userId)).toEqual([]);
    expect(await t.app.storage.provider.get(user.storagePath)).toBeUndefined();
    const me = await t.request('GET', '/api/auth/sessions/current', { token: user.accessToken });
    expect(me.status).toBe(401);
  });
});
