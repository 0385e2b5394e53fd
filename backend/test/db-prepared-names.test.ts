/**
 * Prepared statements user SQL creates or drops on a pooled connection (raw SQL, a function's
 * `EXECUTE 'PREPARE …'` / `'DEALLOCATE ALL'`) never break the named statements Kiln prepares on
 * the same connection (core/pipeline.ts). One connection per pool (DB_POOL_MAX=1: the admin pool
 * keeps two, but sequential requests reuse the one most recently released), so every request
 * below runs on the connection the previous one left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers.js';

let t: TestApp;

const SETUP = `
  CREATE TABLE public.session_notes (id serial PRIMARY KEY, body text NOT NULL);
  GRANT SELECT ON public.session_notes TO anon, authenticated;

  CREATE FUNCTION public.run_utility(statement text) RETURNS text
  LANGUAGE plpgsql AS $$
  BEGIN
    EXECUTE statement;
    RETURN 'ran';
  END $$;

  CREATE FUNCTION public.prepared_names() RETURNS text[]
  LANGUAGE sql AS $$ SELECT coalesce(array_agg(name ORDER BY name), '{}') FROM pg_prepared_statements $$;
`;

beforeAll(async () => {
  t = await startTestApp({}, { DB_POOL_MAX: '1' }, { setupSql: SETUP });
});

afterAll(async () => {
  await t?.stop();
});

const rpc = (fn: string, token: string, body: unknown = {}) =>
  t.request('POST', `/api/database/rpc/${fn}`, { token, body });

async function rawSql(query: string) {
  const res = await t.request('POST', '/api/database/advance/rawsql', {
    token: t.apiKey,
    body: { query },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { rows: Record<string, unknown>[] };
}

async function records(token: string) {
  const res = await t.request('GET', '/api/database/records/session_notes?select=id,body', {
    token,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { id: number; body: string }[];
}

describe("prepared statements user SQL creates or drops never break Kiln's", () => {
  it("a PREPARE of Kiln's naming (kiln_N) in raw SQL leaves later requests on the connection working", async () => {
    await records(t.apiKey);
    // The names Kiln's statements had before (kiln_1, kiln_2, …) and far beyond.
    await rawSql(
      `DO $$ BEGIN FOR i IN 1..300 LOOP EXECUTE format('PREPARE kiln_%s AS SELECT 1', i); END LOOP; END $$`,
    );
    for (let i = 0; i < 3; i++) await records(t.apiKey);
    const names = (await rawSql(`SELECT name FROM pg_prepared_statements`)).rows.map(
      (r) => r.name as string,
    );
    // Kiln's own were parsed again on that connection, under names of their own.
    expect(names.some((n) => /^kiln_[0-9a-f]+_\d+$/.test(n))).toBe(true);
  });

  it('a user function taking the very names Kiln would use next costs a retry, not a failure', async () => {
    await records(t.anonKey);
    const held = (await rpc('prepared_names', t.anonKey)).body as string[];
    const ours = held.filter((n) => /^kiln_[0-9a-f]+_\d+$/.test(n));
    expect(ours.length).toBeGreaterThan(0);
    const prefix = ours[0]!.replace(/\d+$/, '');
    const highest = Math.max(...ours.map((n) => Number(n.slice(prefix.length))));
    const squat = Array.from(
      { length: 20 },
      (_, i) => `PREPARE ${prefix}${highest + 1 + i} AS SELECT 1`,
    );
    for (const statement of squat) {
      expect((await rpc('run_utility', t.anonKey, { statement })).status).toBe(200);
    }
    // A new statement shape: Kiln parses a new name, which the function took.
    const res = await t.request('GET', '/api/database/records/session_notes?select=body&limit=1', {
      token: t.anonKey,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await records(t.anonKey);
  });

  it('DEALLOCATE ALL in a user function or in raw SQL leaves no request failing', async () => {
    await records(t.anonKey);
    expect((await rpc('run_utility', t.anonKey, { statement: 'DEALLOCATE ALL' })).status).toBe(200);
    expect(((await rpc('prepared_names', t.anonKey)).body as string[]).length).toBeGreaterThan(0);
    await records(t.anonKey);
    await records(t.apiKey);
    await rawSql('DEALLOCATE ALL');
    await records(t.apiKey);
    await records(t.apiKey);
  });
});
