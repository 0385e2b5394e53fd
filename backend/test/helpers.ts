import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { createClient, type InsForgeClient } from '@insforge/sdk';
import { createApp, type KilnApp } from '../src/app.js';
import { loadConfig, type Config } from '../src/core/config.js';
import { createLogger } from '../src/core/logger.js';

export const ADMIN_EMAIL = 'admin@kiln.test';
export const ADMIN_PASSWORD = 'admin-password-for-tests';

export function pgUrl(database: string): string {
  return inject('pgUrlPattern')
    .replace('%7Bdb%7D', encodeURIComponent(database))
    .replace('{db}', encodeURIComponent(database));
}

async function withMaintenanceClient<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: pgUrl('postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh database for one test file: a clone of the migrated template (or empty). */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<string> {
  const name = `kiln_t_${crypto.randomBytes(6).toString('hex')}`;
  const template = options.empty ? 'template0' : inject('templateDb');
  await withMaintenanceClient(async (c) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await c.query(
          `CREATE DATABASE ${c.escapeIdentifier(name)} TEMPLATE ${c.escapeIdentifier(template)}`,
        );
        return;
      } catch (err) {
        // Two files cloning the template at the same instant can collide; try again.
        if (attempt < 20 && (err as { code?: string }).code === '55006') {
          await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
          continue;
        }
        throw err;
      }
    }
  });
  return name;
}

export async function dropTestDatabase(name: string): Promise<void> {
  await withMaintenanceClient((c) =>
    c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`),
  );
}

/** SQL of a fixture under test/fixtures. */
export function fixture(name: string): string {
  return fs.readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
}

export function randomKey(prefix: 'ik_' | 'anon_'): string {
  return prefix + crypto.randomBytes(32).toString('hex');
}

export interface TestApp {
  app: KilnApp;
  baseUrl: string;
  database: string;
  dataDir: string;
  apiKey: string;
  anonKey: string;
  /** Raw HTTP against the app; JSON bodies are encoded, the response JSON parsed. */
  request(
    method: string,
    path: string,
    init?: { body?: unknown; headers?: Record<string, string>; token?: string | null },
  ): Promise<{ status: number; headers: Headers; body: any }>;
  adminToken(): Promise<string>;
  /** An SDK client in server mode (refresh token in bodies), the way a Node app uses it. */
  sdk(options?: { accessToken?: string }): InsForgeClient;
  /** Signs up a fresh user through the SDK and returns the signed-in client. */
  signUpUser(overrides?: { email?: string; password?: string; name?: string }): Promise<{
    client: InsForgeClient;
    email: string;
    password: string;
    userId: string;
    accessToken: string;
    refreshToken: string;
  }>;
  stop(): Promise<void>;
}

/** Starts a Kiln app on a random port against its own fresh database. */
export async function startTestApp(
  overrides: Partial<Config> = {},
  env: Record<string, string> = {},
  options: { setupSql?: string } = {},
): Promise<TestApp> {
  const database = await createTestDatabase();
  if (options.setupSql) {
    const client = new pg.Client({ connectionString: pgUrl(database) });
    await client.connect();
    try {
      await client.query(options.setupSql);
    } finally {
      await client.end();
    }
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-test-data-'));
  const apiKey = randomKey('ik_');
  const anonKey = randomKey('anon_');
  const base = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    JWT_SECRET: crypto.randomBytes(32).toString('hex'),
    ACCESS_API_KEY: apiKey,
    ACCESS_ANON_KEY: anonKey,
    DB_POOL_MAX: '5',
    // One Deno package cache for the whole run (npm:/jsr: imports download once).
    DENO_DIR: path.join(os.tmpdir(), 'kiln-test-deno'),
    // Test files sign up and sign in far more often than a person; the rate-limit test sets its own.
    AUTH_RATE_LIMIT_SIGN_IN: '100000',
    AUTH_RATE_LIMIT_SIGN_UP: '100000',
    AUTH_RATE_LIMIT_EMAIL: '100000',
    AUTH_RATE_LIMIT_VERIFY: '100000',
    // Likewise, one test user fires many requests at once from one address; db-fairness.test.ts
    // sets the per-client share it tests.
    DB_MAX_CONNECTIONS_PER_CLIENT: '5',
    DB_QUEUE_TIMEOUT_MS: '10000',
    ...env,
  });
  const config: Config = {
    ...base,
    databaseUrl: pgUrl(database),
    port: 0,
    host: '127.0.0.1',
    ...overrides,
  };
  const logger = createLogger({
    level: 'info',
    dir: path.join(dataDir, 'logs'),
    stdout: true,
    stdoutLevel: 'error',
  });
  // Every response of a declared route is checked against its declaration (core/route.ts): a
  // mismatch answers 500 RESPONSE_CONTRACT_VIOLATION, and stop() fails the file if any occurred.
  const app = await createApp(config, { logger, checkResponses: true });
  const address = await app.listen(0, '127.0.0.1');
  const baseUrl = `http://127.0.0.1:${address.port}`;
  app.config.apiBaseUrl = baseUrl;

  let adminToken: string | undefined;
  const request: TestApp['request'] = async (method, p, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    let body: string | undefined;
    if (init.body !== undefined) {
      body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(baseUrl + p, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    if (res.headers.get('content-type')?.includes('json') && text) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed as any };
  };

  const testApp: TestApp = {
    app,
    baseUrl,
    database,
    dataDir,
    apiKey,
    anonKey,
    request,
    async adminToken() {
      if (!adminToken) {
        const res = await request('POST', '/api/auth/admin/sessions', {
          body: { username: ADMIN_EMAIL, password: ADMIN_PASSWORD },
        });
        if (res.status !== 200)
          throw new Error(`admin sign-in failed: ${JSON.stringify(res.body)}`);
        adminToken = res.body.accessToken as string;
      }
      return adminToken;
    },
    sdk(options = {}) {
      return createClient({ baseUrl, anonKey, isServerMode: true, retryCount: 0, ...options });
    },
    async signUpUser(overrides = {}) {
      const email = overrides.email ?? `user-${crypto.randomBytes(5).toString('hex')}@example.com`;
      const password = overrides.password ?? 'correct horse battery';
      const client = createClient({ baseUrl, anonKey, isServerMode: true, retryCount: 0 });
      const { data, error } = await client.auth.signUp({ email, password, name: overrides.name });
      if (error || !data?.accessToken || !data.user || !data.refreshToken) {
        throw new Error(`sign-up failed: ${JSON.stringify(error ?? data)}`);
      }
      return {
        client,
        email,
        password,
        userId: data.user.id,
        accessToken: data.accessToken,
        refreshToken: data.refreshToken,
      };
    },
    async stop() {
      await app.close();
      await dropTestDatabase(database);
      fs.rmSync(dataDir, { recursive: true, force: true });
      const violations = app.routes.violations;
      if (violations.length) {
        throw new Error(
          `responses broke their route declarations:\n${violations
            .map((v) => `  ${v.route} → ${v.status}: ${v.problem}`)
            .join('\n')}`,
        );
      }
    },
  };
  return testApp;
}

// Endpoint tests as tables of scenarios, and the checks of issued tokens (issue 16).
export * from './scenarios.js';
