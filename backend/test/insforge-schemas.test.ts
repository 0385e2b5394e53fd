import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as insforge from '@insforge/shared-schemas';
import { FAKE_KEY, FakeOpenAI } from './fake-openai.js';
import { SmtpCapture } from './smtp-capture.js';
import { expectOpaqueToken, startTestApp, type TestApp } from './helpers.js';

/**
 * Wire compatibility against InsForge's own published request/response schemas
 * (`@insforge/shared-schemas`, pinned as a dev dependency): Kiln's real answers, over real HTTP
 * and through `@insforge/sdk`, parsed with InsForge's zod schemas.
 *
 * Every place Kiln's answer does not parse is named below with its reason, so the list of
 * differences is exact: a new difference fails the test, and so does one that disappears.
 *   deliberate — Kiln answers differently on purpose (the reason says why).
 * There are no known gaps (places Kiln should answer InsForge's shape and does not): a new one is
 * fixed, or named here as deliberate with its reason.
 */
type Difference = { deliberate: string };
const deliberate = (reason: string): Difference => ({ deliberate: reason });

/** A zod schema of InsForge's package (zod 3, its own copy). */
interface InsForgeSchema {
  safeParse(
    value: unknown,
  ): { success: true } | { success: false; error: { issues: { path: (string | number)[] }[] } };
}

/** Where `value` does not parse with `schema`: issue paths, array indexes as [], sorted. */
function differences(schema: InsForgeSchema, value: unknown): string[] {
  const result = schema.safeParse(value);
  if (result.success) return [];
  const paths = result.error.issues.map(
    (issue) =>
      issue.path.map((p) => (typeof p === 'number' ? '[]' : p)).join('.') || '(the whole body)',
  );
  return [...new Set(paths)].sort();
}

/** `value` parses with `schema`, except exactly at the named differences. */
function conforms(
  schema: InsForgeSchema,
  value: unknown,
  expected: Record<string, Difference> = {},
) {
  expect(differences(schema, value), JSON.stringify(value, null, 1).slice(0, 4000)).toEqual(
    Object.keys(expected).sort(),
  );
}

let t: TestApp;
const upstream = new FakeOpenAI();
const smtp = new SmtpCapture();
const APP = 'https://app.example.com/auth/done';

beforeAll(async () => {
  await upstream.start();
  await smtp.start();
  t = await startTestApp(
    {},
    {
      OPENROUTER_API_KEY: FAKE_KEY,
      OPENROUTER_BASE_URL: upstream.url,
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(smtp.port),
      SMTP_FROM_EMAIL: 'no-reply@kiln.test',
      SMTP_FROM_NAME: 'Kiln Test',
      EMAIL_SEND_RAW_USERS: 'true',
      // A built-in OAuth provider enabled from the environment (public config lists it).
      GOOGLE_CLIENT_ID: 'google-client.apps.example.com',
      GOOGLE_CLIENT_SECRET: 'google-secret',
    },
  );
});
afterAll(async () => {
  await t?.stop();
  await upstream.stop();
  await smtp.stop();
});

const admin = async (method: string, path: string, body?: unknown, status = 200) => {
  const res = await t.request(method, path, { token: t.apiKey, body });
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(status);
  return res.body;
};
const as = async (token: string, method: string, path: string, body?: unknown, status = 200) => {
  const res = await t.request(method, path, { token, body });
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(status);
  return res.body;
};
const email = () => `ada-${crypto.randomBytes(4).toString('hex')}@example.com`;

describe('auth', () => {
  it('sign-up, sign-in, refresh and the current session, web and server clients', async () => {
    // Web client (no client_type): refresh token in a cookie, CSRF token in the body.
    const web = await t.request('POST', '/api/auth/users', {
      body: { email: email(), password: 'correct horse battery', name: 'Ada' },
    });
    expect(web.status).toBe(201);
    conforms(insforge.createUserResponseSchema, web.body);
    expectOpaqueToken(web.body.csrfToken);
    // Server/mobile clients get the refresh token in the body.
    const address = email();
    const signUp = await t.request('POST', '/api/auth/users?client_type=mobile', {
      body: { email: address, password: 'correct horse battery' },
    });
    expect(signUp.status).toBe(201);
    conforms(insforge.createUserResponseSchema, signUp.body);
    expectOpaqueToken(signUp.body.refreshToken);

    const signIn = await t.request('POST', '/api/auth/sessions?client_type=mobile', {
      body: { email: address, password: 'correct horse battery' },
    });
    expect(signIn.status).toBe(200);
    conforms(insforge.createSessionResponseSchema, signIn.body);

    const refreshed = await t.request('POST', '/api/auth/refresh?client_type=mobile', {
      body: { refreshToken: signIn.body.refreshToken },
    });
    expect(refreshed.status).toBe(200);
    conforms(insforge.refreshSessionResponseSchema, refreshed.body);

    const current = await as(refreshed.body.accessToken, 'GET', '/api/auth/sessions/current');
    conforms(insforge.getCurrentSessionResponseSchema, current);

    // The SDK's view of the same: the user object it hands to apps.
    const sdkSignIn = await t.sdk().auth.signInWithPassword({
      email: address,
      password: 'correct horse battery',
    });
    expect(sdkSignIn.error).toBeNull();
    conforms(insforge.userSchema, sdkSignIn.data!.user);
  });

  it('the auth error envelope', async () => {
    const wrong = await t.request('POST', '/api/auth/sessions', {
      body: { email: email(), password: 'not the password' },
    });
    expect(wrong.status).toBe(401);
    conforms(insforge.authErrorResponseSchema, wrong.body);
  });

  it('profiles: own, by id, updated', async () => {
    const user = await t.signUpUser({ name: 'Grace' });
    conforms(
      insforge.getProfileResponseSchema,
      await as(user.accessToken, 'GET', '/api/auth/profiles/current'),
    );
    conforms(
      insforge.getProfileResponseSchema,
      await as(user.accessToken, 'GET', `/api/auth/profiles/${user.userId}`),
    );
    conforms(
      insforge.getProfileResponseSchema,
      await as(user.accessToken, 'PATCH', '/api/auth/profiles/current', {
        profile: { name: 'Grace H.', avatar_url: 'https://example.com/g.png', bio: 'compilers' },
      }),
    );
  });

  it('public config lists the enabled OAuth providers: environment, admin rows, custom OIDC', async () => {
    const publicConfig = async () => {
      const res = await t.request('GET', '/api/auth/public-config');
      expect(res.status).toBe(200);
      conforms(insforge.getPublicAuthConfigResponseSchema, res.body);
      return res.body;
    };
    // GOOGLE_CLIENT_ID in the environment enables Google without a row.
    expect(await publicConfig()).toMatchObject({
      oAuthProviders: ['google'],
      customOAuthProviders: [],
    });
    await admin('PUT', '/api/auth/oauth/github/config', { clientId: 'gh', clientSecret: 's' });
    await admin('PUT', '/api/auth/oauth/google/config', { clientId: 'g', enabled: false });
    await admin('PUT', '/api/auth/oauth/custom/acme/config', {
      name: 'Acme SSO',
      clientId: 'acme',
      clientSecret: 's',
      discoveryUrl: 'https://sso.acme.test/.well-known/openid-configuration',
    });
    await admin('PUT', '/api/auth/oauth/custom/off/config', {
      clientId: 'off',
      discoveryUrl: 'https://off.example.test/.well-known/openid-configuration',
      enabled: false,
    });
    // An admin's row decides over the environment: Google is now off.
    const after = await publicConfig();
    expect(after).toMatchObject({ oAuthProviders: ['github'], customOAuthProviders: ['acme'] });
    expect(after).not.toHaveProperty('allowedRedirectUrls');
    expect(after).not.toHaveProperty('smtpConfig');
    // The SDK reads the same.
    const sdk = await t.sdk().auth.getPublicAuthConfig();
    expect(sdk.data).toMatchObject({ oAuthProviders: ['github'], customOAuthProviders: ['acme'] });
  });

  it('auth config, SMTP config and email templates', async () => {
    const config = await admin('GET', '/api/auth/config');
    conforms(insforge.getAuthConfigResponseSchema, config);
    const updated = await admin('PUT', '/api/auth/config', { allowedRedirectUrls: [APP] });
    conforms(insforge.getAuthConfigResponseSchema, updated);
    expect(updated.id).toBe(config.id);
    conforms(insforge.getSmtpConfigResponseSchema, await admin('GET', '/api/auth/smtp-config'), {
      minIntervalSeconds: deliberate(
        'Kiln limits sends per address with a count per window (AUTH_RATE_LIMIT_EMAIL), not a minimum interval',
      ),
    });
    conforms(
      insforge.listEmailTemplatesResponseSchema,
      await admin('GET', '/api/auth/email-templates'),
    );
  });

  it('admin sessions, users list, one user, deleting users', async () => {
    const session = await t.request('POST', '/api/auth/admin/sessions', {
      body: { username: 'admin@kiln.test', password: 'admin-password-for-tests' },
    });
    expect(session.status).toBe(200);
    conforms(insforge.createAdminSessionResponseSchema, session.body);
    conforms(
      insforge.getCurrentAdminSessionResponseSchema,
      await as(session.body.accessToken, 'GET', '/api/auth/admin/sessions/current'),
    );

    const user = await t.signUpUser();
    conforms(insforge.listUsersResponseSchema, await admin('GET', '/api/auth/users?limit=5'));
    conforms(insforge.userSchema, await admin('GET', `/api/auth/users/${user.userId}`));
    conforms(
      insforge.deleteUsersResponseSchema,
      await admin('DELETE', '/api/auth/users', { userIds: [user.userId] }),
    );
  });

  it('OAuth provider configs and the OAuth start', async () => {
    await admin('PUT', '/api/auth/oauth/github/config', { clientId: 'gh', clientSecret: 's' });
    await admin('PUT', '/api/auth/config', { allowedRedirectUrls: [APP] });
    const configs = await admin('GET', '/api/auth/oauth/configs');
    conforms(insforge.listOAuthConfigsResponseSchema, configs);
    expect(configs.data.map((c: { provider: string }) => c.provider)).toContain('github');
    const request = {
      key: 'sso',
      name: 'SSO',
      discoveryEndpoint: 'https://sso.example.test/.well-known/openid-configuration',
      clientId: 'sso',
      clientSecret: 'sso-secret',
    };
    conforms(insforge.createCustomOAuthConfigRequestSchema, request);
    conforms(
      insforge.customOAuthConfigSchema,
      await admin('POST', '/api/auth/oauth/custom/configs', request),
    );
    const custom = await admin('GET', '/api/auth/oauth/custom/configs');
    expect(custom.count).toBeGreaterThan(0);
    conforms(insforge.listCustomOAuthConfigsResponseSchema, custom);
    const challenge = crypto.randomBytes(32).toString('base64url');
    const start = await t.request(
      'GET',
      `/api/auth/oauth/github?redirect_uri=${encodeURIComponent(APP)}&code_challenge=${challenge}`,
    );
    expect(start.status).toBe(200);
    conforms(insforge.getOauthUrlResponseSchema, start.body);
  });
});

describe('database admin', () => {
  it('tables: create, schema, alter, delete', async () => {
    const created = await admin(
      'POST',
      '/api/database/tables',
      {
        tableName: 'books',
        columns: [
          { columnName: 'title', type: 'string', isNullable: false, isUnique: false },
          { columnName: 'pages', type: 'integer', isNullable: true, isUnique: false },
        ],
      },
      201,
    );
    conforms(insforge.createTableResponseSchema, created);
    // A column without a default has no defaultValue; one with a default says it.
    const columns = created.columns as { columnName: string; defaultValue?: string }[];
    expect(columns.find((c) => c.columnName === 'title')).not.toHaveProperty('defaultValue');
    expect(columns.find((c) => c.columnName === 'id')?.defaultValue).toBe('gen_random_uuid()');
    await admin(
      'POST',
      '/api/database/tables',
      {
        tableName: 'reviews',
        columns: [
          { columnName: 'book', type: 'uuid', isNullable: false, isUnique: false },
          { columnName: 'stars', type: 'integer', isNullable: false, isUnique: false },
        ],
        foreignKeys: [
          {
            referenceTable: 'books',
            referenceColumns: [{ sourceColumn: 'book', referenceColumn: 'id' }],
            onDelete: 'CASCADE',
            onUpdate: 'NO ACTION',
          },
        ],
      },
      201,
    );
    conforms(
      insforge.getTableSchemaResponseSchema,
      await admin('GET', '/api/database/tables/reviews/schema'),
    );
    conforms(
      insforge.updateTableSchemaResponse,
      await admin('PATCH', '/api/database/tables/books/schema', {
        addColumns: [{ columnName: 'isbn', type: 'string', isNullable: true, isUnique: true }],
      }),
    );
    conforms(insforge.deleteTableResponse, await admin('DELETE', '/api/database/tables/reviews'));
  });

  it('raw SQL, catalog lists, migrations, export', async () => {
    conforms(
      insforge.rawSQLResponseSchema,
      await admin('POST', '/api/database/advance/rawsql', {
        query: 'SELECT count(*) AS n FROM books',
      }),
    );
    // The catalog lists, wrapped as InsForge wraps them.
    const lists = [
      ['functions', insforge.databaseFunctionsResponseSchema],
      ['schemas', insforge.databaseSchemasResponseSchema],
      ['indexes', insforge.databaseIndexesResponseSchema],
      ['policies', insforge.databasePoliciesResponseSchema],
      ['triggers', insforge.databaseTriggersResponseSchema],
    ] as const;
    for (const [name, schema] of lists) {
      const list = await admin('GET', `/api/database/${name}`);
      conforms(schema, list);
      expect(list[name], name).toEqual(expect.any(Array));
    }
    const migration = await admin(
      'POST',
      '/api/database/migrations',
      { version: '20260101000000', name: 'add-authors', sql: 'CREATE TABLE authors (id int)' },
      201,
    );
    conforms(insforge.createMigrationResponseSchema, migration, {
      'statements.[]': deliberate(
        "Kiln runs a migration's SQL as one text and answers what each statement did ({command, rowCount}); it does not split SQL into statement texts (the list of migrations answers the SQL as recorded)",
      ),
    });
    const migrations = await admin('GET', '/api/database/migrations');
    conforms(insforge.databaseMigrationsResponseSchema, migrations);
    expect(migrations.migrations).toContainEqual(
      expect.objectContaining({ version: '20260101000000', createdAt: migration.createdAt }),
    );
    conforms(
      insforge.exportResponseSchema,
      await admin('POST', '/api/database/advance/export', { tables: ['books'], format: 'json' }),
      {
        format: deliberate(
          'the export is streamed as a file to download (application/sql or application/json), not a JSON envelope holding it: a database of any size exports without being held in memory',
        ),
        data: deliberate('the JSON file is {timestamp, tables: {...}} (see format)'),
      },
    );
  });
});

describe('storage', () => {
  it('buckets, uploads, the object list, strategies, bulk delete', async () => {
    await admin('POST', '/api/storage/buckets', { bucketName: 'photos', isPublic: true }, 201);
    conforms(insforge.storageBucketSchema.array(), await admin('GET', '/api/storage/buckets'));

    const form = new FormData();
    form.append('file', new Blob(['hello'], { type: 'text/plain' }), 'hello.txt');
    const put = await fetch(`${t.baseUrl}/api/storage/buckets/photos/objects/notes/hello.txt`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${t.apiKey}` },
      body: form,
    });
    expect(put.status).toBe(201);
    conforms(insforge.storageFileSchema, await put.json());

    const client = t.sdk({ accessToken: t.apiKey });
    const uploaded = await client.storage
      .from('photos')
      .upload('sdk/file.txt', new Blob(['from the sdk'], { type: 'text/plain' }));
    expect(uploaded.error).toBeNull();
    conforms(insforge.storageFileSchema, uploaded.data);
    const auto = await client.storage
      .from('photos')
      .uploadAuto(new Blob(['auto key'], { type: 'text/plain' }));
    expect(auto.error).toBeNull();
    conforms(insforge.storageFileSchema, auto.data);

    conforms(
      insforge.listObjectsResponseSchema,
      await admin('GET', '/api/storage/buckets/photos/objects?limit=10'),
    );
    conforms(
      insforge.uploadStrategyResponseSchema,
      await admin('POST', '/api/storage/buckets/photos/upload-strategy', {
        filename: 'big.bin',
        contentType: 'application/octet-stream',
        size: 10,
      }),
    );
    conforms(
      insforge.downloadStrategyResponseSchema,
      await admin('GET', '/api/storage/buckets/photos/download-strategy/objects/notes/hello.txt'),
      {
        expiresAt: deliberate(
          'JSON has no Date: InsForge types the object before serialisation (z.date()); Kiln sends an ISO string, or null for a direct URL that does not expire',
        ),
      },
    );
    conforms(
      insforge.deleteObjectsResponseSchema,
      await admin('DELETE', '/api/storage/buckets/photos/objects', {
        keys: ['notes/hello.txt', 'missing.txt'],
      }),
    );
  });
});

describe('realtime admin', () => {
  it('channels, messages, stats, config', async () => {
    const channel = await admin(
      'POST',
      '/api/realtime/channels',
      { pattern: 'orders:%', description: 'orders', webhookUrls: [] },
      201,
    );
    conforms(insforge.createChannelResponseSchema, channel);
    conforms(insforge.listChannelsResponseSchema, await admin('GET', '/api/realtime/channels'));
    conforms(
      insforge.getChannelResponseSchema,
      await admin('GET', `/api/realtime/channels/${channel.id}`),
    );
    conforms(
      insforge.updateChannelResponseSchema,
      await admin('PUT', `/api/realtime/channels/${channel.id}`, { description: 'all orders' }),
    );
    await t.app.db.query(`SELECT realtime.publish('orders:1', 'created', '{"id": 1}')`);
    const messages = await admin('GET', '/api/realtime/messages');
    expect(messages).toHaveLength(1);
    conforms(insforge.listMessagesResponseSchema, messages, {
      '[].wsAudienceCount': deliberate(
        'Kiln does not count the sockets a message reached (webhook deliveries are counted)',
      ),
    });
    conforms(
      insforge.messageStatsResponseSchema,
      await admin('GET', '/api/realtime/messages/stats'),
    );
    conforms(insforge.getRealtimeConfigResponseSchema, await admin('GET', '/api/realtime/config'));
    conforms(
      insforge.getRealtimeConfigResponseSchema,
      await admin('PATCH', '/api/realtime/config', { retentionDays: 14 }),
    );
    conforms(
      insforge.realtimePermissionsResponseSchema,
      await admin('GET', '/api/realtime/permissions'),
    );
    conforms(
      insforge.deleteChannelResponseSchema,
      await admin('DELETE', `/api/realtime/channels/${channel.id}`),
    );
  });
});

describe('functions admin', () => {
  it('create, list, one, update', async () => {
    const code = 'export default () => new Response("hi")';
    conforms(
      insforge.functionResponseSchema,
      await admin('POST', '/api/functions', { name: 'Hello', slug: 'hello', code }, 201),
    );
    conforms(insforge.listFunctionsResponseSchema, await admin('GET', '/api/functions'), {
      'functions.[].code': deliberate(
        "the list leaves out every function's source; GET /api/functions/:slug has it",
      ),
    });
    conforms(insforge.functionSchema, await admin('GET', '/api/functions/hello'));
    conforms(
      insforge.functionResponseSchema,
      await admin('PUT', '/api/functions/hello', { description: 'says hi' }),
    );
  });
});

describe('secrets', () => {
  it('create, list, value, update, delete', async () => {
    conforms(
      insforge.createSecretResponseSchema,
      await admin('POST', '/api/secrets', { key: 'STRIPE_KEY', value: 'sk_test_1' }, 201),
    );
    conforms(insforge.listSecretsResponseSchema, await admin('GET', '/api/secrets'));
    conforms(insforge.getSecretValueResponseSchema, await admin('GET', '/api/secrets/STRIPE_KEY'));
    conforms(
      insforge.updateSecretResponseSchema,
      await admin('PUT', '/api/secrets/STRIPE_KEY', { value: 'sk_test_2' }),
    );
    conforms(insforge.deleteSecretResponseSchema, await admin('DELETE', '/api/secrets/STRIPE_KEY'));
  });
});

describe('logs', () => {
  it('audit logs, their stats, log sources and lines', async () => {
    conforms(insforge.getAuditLogsResponseSchema, await admin('GET', '/api/logs/audits?limit=5'));
    const auditStats = await admin('GET', '/api/logs/audits/stats');
    conforms(insforge.getAuditLogStatsResponseSchema, auditStats);
    expect(auditStats.recentActivity.length).toBeGreaterThan(0);
    const sources = await admin('GET', '/api/logs/sources');
    conforms(insforge.logSourceSchema.array(), sources, {
      '(the whole body)': deliberate(
        "Kiln's sources are its log files or CloudWatch streams, not Logflare sources with ingest tokens: {provider, sources: [{name, description, available, ...}]}",
      ),
    });
    const logStats = await admin('GET', '/api/logs/stats');
    expect(logStats.length).toBeGreaterThan(0);
    conforms(insforge.logStatsSchema.array(), logStats);
    const source = sources.sources[0].name as string;
    const lines = await admin('GET', `/api/logs/${source}?limit=5`);
    expect(lines.logs.length).toBeGreaterThan(0);
    conforms(insforge.getLogsResponseSchema, lines);
  });
});

describe('AI', () => {
  it('chat, embeddings, images (through the gateway), models, overview', async () => {
    const user = await t.signUpUser();
    conforms(
      insforge.chatCompletionResponseSchema,
      await as(user.accessToken, 'POST', '/api/ai/chat/completion', {
        model: 'openai/gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
      }),
    );
    conforms(
      insforge.embeddingsResponseSchema,
      await as(user.accessToken, 'POST', '/api/ai/embeddings', {
        model: 'openai/text-embedding-3-small',
        input: 'hi',
      }),
    );
    conforms(
      insforge.imageGenerationResponseSchema,
      await as(user.accessToken, 'POST', '/api/ai/image/generation', {
        model: 'google/gemini-image',
        prompt: 'a kiln',
      }),
    );
    const models = await admin('GET', '/api/ai/models');
    expect(models.length).toBeGreaterThan(0);
    conforms(insforge.aiModelSchema.array(), models);
    conforms(insforge.aiOverviewSchema, await admin('GET', '/api/ai/overview'), {
      key: deliberate(
        'Kiln holds no OpenRouter account key state (limit, credit, free tier) to report',
      ),
    });
    conforms(insforge.modelGatewayConfigSchema, await admin('GET', '/api/ai/config'));
    const key = await admin('GET', '/api/ai/openrouter/api-key');
    conforms(insforge.openRouterKeySchema, key, {
      apiKey: deliberate('Kiln never answers the upstream key itself, only maskedKey'),
    });
  });
});

describe('metadata and email', () => {
  it('the project metadata and its keys', async () => {
    const metadata = await admin('GET', '/api/metadata');
    conforms(insforge.appMetaDataSchema, metadata, {
      'auth.smtpConfig.minIntervalSeconds': deliberate(
        'Kiln has no per-address sending interval setting (as GET /api/auth/smtp-config)',
      ),
    });
    // The enabled providers, as public-config lists them (earlier tests enabled some).
    const publicConfig = (await t.request('GET', '/api/auth/public-config')).body;
    expect(metadata.auth.oAuthProviders.length).toBeGreaterThan(0);
    expect(metadata.auth.oAuthProviders).toEqual(publicConfig.oAuthProviders);
    expect(metadata.auth.customOAuthProviders).toEqual(publicConfig.customOAuthProviders);
    expect(metadata.realtime.permissions.subscribe.policies.length).toBeGreaterThan(0);
    conforms(insforge.databaseMetadataSchema, await admin('GET', '/api/metadata/database'));
    conforms(insforge.apiKeyResponseSchema, await admin('GET', '/api/metadata/api-key'));
    conforms(insforge.anonKeyResponseSchema, await admin('GET', '/api/metadata/anon-key'));
  });

  it('sending raw email', async () => {
    const user = await t.signUpUser();
    conforms(
      insforge.sendEmailResponseSchema,
      await as(user.accessToken, 'POST', '/api/email/send-raw', {
        to: 'someone@example.com',
        subject: 'hello',
        html: '<p>hello</p>',
      }),
    );
  });
});
