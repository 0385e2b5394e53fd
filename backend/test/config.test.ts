import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, envSchema, loadConfig } from '../src/core/config.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 7130,
      apiBaseUrl: 'http://localhost:7130',
      databaseUrl: undefined,
      accessTokenTtlSeconds: 900,
      corsOrigins: '*',
      adminEmail: 'admin@example.com',
    });
    expect(c.dataDir).toMatch(/\/data$/);
  });

  it('names each bad variable', () => {
    const problems = problemsOf({
      PORT: 'seventy',
      JWT_SECRET: 'short',
      DATABASE_URL: 'mysql://x',
      LOG_LEVEL: 'loud',
    });
    expect(problems.find((p) => p.startsWith('PORT:'))).toBeDefined();
    expect(problems.find((p) => p.startsWith('JWT_SECRET:'))).toMatch(/at least 32/);
    expect(problems.find((p) => p.startsWith('DATABASE_URL:'))).toMatch(/postgres/);
    expect(problems.find((p) => p.startsWith('LOG_LEVEL:'))).toBeDefined();
    // Secrets are never echoed back.
    expect(problems.join('\n')).not.toContain('short');
  });

  it('validates key formats and requires secrets in production', () => {
    expect(problemsOf({ ACCESS_API_KEY: 'ik_123' })[0]).toMatch(
      /^ACCESS_API_KEY: must be "ik_" followed by 64/,
    );
    const prod = problemsOf({ NODE_ENV: 'production' });
    expect(prod).toContain('JWT_SECRET: is required when NODE_ENV=production');
    expect(prod).toContain('ADMIN_PASSWORD: is required when NODE_ENV=production');
  });

  it('builds DATABASE_URL from POSTGRES_* parts and parses CORS_ORIGINS', () => {
    const c = loadConfig({
      POSTGRES_HOST: 'db.internal',
      POSTGRES_USER: 'kiln',
      POSTGRES_PASSWORD: 'p@ss word',
      POSTGRES_DB: 'app',
      CORS_ORIGINS: 'https://a.example.com, https://b.example.com',
      API_BASE_URL: 'https://api.example.com/',
    });
    expect(c.databaseUrl).toBe('postgres://kiln:p%40ss%20word@db.internal:5432/app');
    expect(c.corsOrigins).toEqual(['https://a.example.com', 'https://b.example.com']);
    expect(c.apiBaseUrl).toBe('https://api.example.com');
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' })).toMatchObject({
      port: 7130,
      databaseUrl: undefined,
    });
  });
});

describe('configuration docs', () => {
  const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const names = Object.keys(envSchema.shape);
  const envExample = fs.readFileSync(path.join(root, '.env.example'), 'utf8');
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

  it('.env.example lists exactly the variables config.ts reads', () => {
    const listed = [...envExample.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
    expect([...listed].sort()).toEqual([...names].sort());
  });

  it("the README's configuration section names every variable", () => {
    const section = readme.slice(
      readme.indexOf('## Configuration'),
      readme.indexOf('## Architecture'),
    );
    expect(names.filter((n) => !section.includes(`\`${n}\``))).toEqual([]);
  });
});
