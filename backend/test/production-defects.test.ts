import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgUrl, startTestApp, type TestApp } from './helpers.js';

/**
 * Defects found by an outside run of hostile input against Kiln (issue 24): numbers changed on
 * their way to or from PostgreSQL, and bad input answered with a 5xx.
 */
let t: TestApp;
let sql: pg.Client;
const SETUP = `
CREATE TABLE public.amounts (
  id bigint PRIMARY KEY,
  n numeric,
  big bigint,
  f double precision,
  data jsonb
);
GRANT ALL ON public.amounts TO anon, authenticated;
CREATE FUNCTION public.echo_numeric(x numeric) RETURNS numeric LANGUAGE sql AS 'SELECT x';
CREATE FUNCTION public.echo_big(x bigint) RETURNS bigint LANGUAGE sql AS 'SELECT x';
CREATE FUNCTION public.echo_json(j jsonb) RETURNS jsonb LANGUAGE sql AS 'SELECT j';
CREATE FUNCTION public.announce(amount numeric, payload jsonb) RETURNS uuid LANGUAGE sql
  AS $$ SELECT realtime.publish('amounts:1', 'changed', payload || jsonb_build_object('amount', amount)) $$;
CREATE TABLE public.hook_log (payload text);
GRANT ALL ON public.hook_log TO project_admin;
CREATE FUNCTION public.record_hook(job jsonb) RETURNS text LANGUAGE sql
  AS $$ INSERT INTO public.hook_log VALUES ((job->'payload')::text); SELECT 'ok' $$;
GRANT EXECUTE ON FUNCTION public.record_hook(jsonb) TO project_admin;
CREATE FUNCTION public.echo_row(x numeric) RETURNS public.amounts LANGUAGE sql
  AS 'SELECT (x % 1000)::bigint, x, NULL::bigint, NULL::float8, NULL::jsonb';
`;

beforeAll(async () => {
  t = await startTestApp({}, {}, { setupSql: SETUP });
  sql = new pg.Client({ connectionString: pgUrl(t.database) });
  await sql.connect();
});
afterAll(async () => {
  await sql?.end();
  await t?.stop();
});

const BIG_NUMERIC = '12345678901234567890123';
const LONG_FRACTION = '0.123456789012345678901234567890';
const BIG_INT = '9007199254740993'; // 2^53 + 1: no double holds it

async function send(
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; json: () => any; headers: Headers }> {
  const res = await fetch(`${t.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${t.apiKey}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body,
  });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text), headers: res.headers };
}

async function stored(id: number): Promise<Record<string, string | null>> {
  const { rows } = await sql.query<Record<string, string | null>>(
    'SELECT n::text, big::text, data::text FROM public.amounts WHERE id = $1',
    [id],
  );
  return rows[0]!;
}

describe('numbers reach PostgreSQL as the client wrote them', () => {
  it('insert keeps numeric and bigint values exactly, and answers them exactly', async () => {
    const res = await send(
      'POST',
      '/api/database/records/amounts',
      `[{"id": 1, "n": ${BIG_NUMERIC}, "big": ${BIG_INT}, "data": {"x": ${BIG_NUMERIC}, "y": 1.50}},
        {"id": 2, "n": ${LONG_FRACTION}, "big": -${BIG_INT}}]`,
      { prefer: 'return=representation' },
    );
    expect(res.status).toBe(201);
    expect(await stored(1)).toEqual({
      n: BIG_NUMERIC,
      big: BIG_INT,
      data: `{"x": ${BIG_NUMERIC}, "y": 1.50}`,
    });
    expect((await stored(2)).n).toBe(LONG_FRACTION);
    expect((await stored(2)).big).toBe(`-${BIG_INT}`);
    // The answer is PostgreSQL's JSON text: nothing rounded on the way out either.
    expect(res.text).toContain(`"n":${BIG_NUMERIC}`);
    expect(res.text).toContain(`"big":${BIG_INT}`);
    expect(res.text).toContain(`"n":${LONG_FRACTION}`);
    const one = await send('GET', '/api/database/records/amounts?id=eq.1', undefined, {
      accept: 'application/vnd.pgrst.object+json',
    });
    expect(one.status).toBe(200);
    expect(one.text).toContain(`"n":${BIG_NUMERIC}`);
    expect(one.text).toContain(`"big":${BIG_INT}`);
  });

  it('update, PUT and bulk upsert keep them too', async () => {
    const patched = await send(
      'PATCH',
      '/api/database/records/amounts?id=eq.2',
      `{"n": ${BIG_NUMERIC}.5, "big": ${BIG_INT}}`,
    );
    expect(patched.status).toBe(204);
    expect(await stored(2)).toMatchObject({ n: `${BIG_NUMERIC}.5`, big: BIG_INT });

    const put = await send(
      'PUT',
      `/api/database/records/amounts?id=eq.${BIG_INT}`,
      `{"id": ${BIG_INT}, "n": ${LONG_FRACTION}}`,
    );
    expect(put.status).toBe(204);
    const { rows } = await sql.query('SELECT n::text FROM public.amounts WHERE id = $1', [BIG_INT]);
    expect(rows).toEqual([{ n: LONG_FRACTION }]);

    const upsert = await send(
      'POST',
      '/api/database/records/amounts',
      `[{"id": 1, "n": 1.000000000000000000001}, {"id": 3, "n": -${BIG_NUMERIC}}]`,
      { prefer: 'resolution=merge-duplicates' },
    );
    expect(upsert.status).toBe(201);
    expect((await stored(1)).n).toBe('1.000000000000000000001');
    expect((await stored(3)).n).toBe(`-${BIG_NUMERIC}`);
  });

  it('a number PostgreSQL cannot hold is refused with a 400, never stored as NULL', async () => {
    const res = await send('POST', '/api/database/records/amounts', '{"id": 10, "n": 1e999999}');
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ code: '22003' });
    const big = await send(
      'POST',
      '/api/database/records/amounts',
      '{"id": 11, "big": 99999999999999999999}',
    );
    expect(big.status).toBe(400);
    const { rows } = await sql.query('SELECT id FROM public.amounts WHERE id IN (10, 11)');
    expect(rows).toEqual([]);
  });

  it('RPC arguments and results keep them', async () => {
    const n = await send('POST', '/api/database/rpc/echo_numeric', `{"x": ${LONG_FRACTION}}`);
    expect(n.status).toBe(200);
    expect(n.text).toBe(LONG_FRACTION);
    const big = await send('POST', '/api/database/rpc/echo_big', `{"x": ${BIG_INT}}`);
    expect(big.text).toBe(BIG_INT);
    const json = await send(
      'POST',
      '/api/database/rpc/echo_json',
      `{"j": {"a": [${BIG_NUMERIC}, 1.10]}}`,
    );
    expect(json.text).toBe(`{"a": [${BIG_NUMERIC}, 1.10]}`);
    const row = await send('POST', '/api/database/rpc/echo_row', `{"x": ${BIG_NUMERIC}}`);
    expect(row.status, row.text).toBe(200);
    expect(row.text).toContain(`"n":${BIG_NUMERIC}`);
  });
});

describe('realtime payloads keep their numbers', () => {
  it('messages published over REST or by a socket keep their numbers, stored and delivered', async () => {
    const channel = await t.request('POST', '/api/realtime/channels', {
      token: t.apiKey,
      body: { pattern: 'amounts:%' },
    });
    expect(channel.status).toBe(201);
    const socket = io(t.baseUrl, {
      transports: ['websocket'],
      auth: { token: t.apiKey },
      reconnection: false,
    });
    try {
      await new Promise((resolve, reject) => {
        socket.once('connect', () => resolve(undefined));
        socket.once('connect_error', reject);
      });
      const ack = await socket.emitWithAck('realtime:subscribe', { channel: 'amounts:1' });
      expect(ack).toMatchObject({ ok: true });
      // socket.io-client parses packets with JSON.parse: the packet's text is what to check.
      const raw = new Promise<string>((resolve) =>
        socket.io.engine.on('packet', (packet: { data?: unknown }) => {
          if (typeof packet.data === 'string' && packet.data.includes('"changed"')) {
            resolve(packet.data);
          }
        }),
      );
      const res = await send(
        'POST',
        '/api/database/rpc/announce',
        `{"amount": ${BIG_NUMERIC}, "payload": {"fraction": ${LONG_FRACTION}, "big": ${BIG_INT}}}`,
      );
      expect(res.status).toBe(200);
      const text = await raw;
      expect(text).toContain(`"amount":${BIG_NUMERIC}`);
      expect(text).toContain(`"fraction":${LONG_FRACTION}`);
      expect(text).toContain(`"big":${BIG_INT}`);

      // Published by a socket: the packet's text is read exactly, stored exactly.
      socket.io.engine.write(
        `2["realtime:publish",{"channel":"amounts:1","event":"sent","payload":{"n":${BIG_NUMERIC},"f":${LONG_FRACTION}}}]`,
      );
      const { rows } = await until(async () => {
        const found = await sql.query<{ payload: string }>(
          "SELECT payload::text FROM realtime.messages WHERE event = 'sent'",
        );
        return found.rowCount ? found : undefined;
      });
      expect(rows).toEqual([{ payload: `{"f": ${LONG_FRACTION}, "n": ${BIG_NUMERIC}}` }]);
    } finally {
      socket.disconnect();
    }
  });
});

describe('realtime webhooks keep their numbers', () => {
  it('a message forwarded to a webhook has its numbers as stored', async () => {
    const bodies: string[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const created = await t.request('POST', '/api/realtime/channels', {
        token: t.apiKey,
        body: { pattern: 'hooked:%', webhookUrls: [url] },
      });
      expect(created.status).toBe(201);
      await sql.query(
        `SELECT realtime.publish('hooked:1', 'changed', '{"n": ${BIG_NUMERIC}, "big": ${BIG_INT}}')`,
      );
      const body = await until(async () => bodies[0]);
      expect(body).toContain(`"n":${BIG_NUMERIC}`);
      expect(body).toContain(`"big":${BIG_INT}`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

async function until<T>(check: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('imports keep numbers', () => {
  const upload = (path: string, content: string, fields: Record<string, string>) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    form.append('file', new Blob([content]), 'rows.json');
    return fetch(`${t.baseUrl}/api/database${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.apiKey}` },
      body: form,
    });
  };

  it('a JSON import and a JSON bulk upsert store numbers exactly', async () => {
    const imported = await upload(
      '/advance/import',
      `[{"id": 100, "n": ${BIG_NUMERIC}, "big": ${BIG_INT}, "data": {"x": 0.10}}]`,
      { table: 'amounts' },
    );
    expect(imported.status).toBe(200);
    expect(await stored(100)).toEqual({ n: BIG_NUMERIC, big: BIG_INT, data: '{"x": 0.10}' });
    const upserted = await upload(
      '/advance/bulk-upsert',
      `[{"id": 100, "n": ${LONG_FRACTION}}, {"id": 101, "big": -${BIG_INT}}]`,
      { table: 'amounts', upsertKey: 'id' },
    );
    expect(upserted.status).toBe(200);
    expect((await stored(100)).n).toBe(LONG_FRACTION);
    expect((await stored(101)).big).toBe(`-${BIG_INT}`);
  });
});

describe('incoming webhooks', () => {
  it('hand the payload on with its numbers as sent; bottomless JSON is kept as text, not a 500', async () => {
    const queue = await t.request('PUT', '/api/jobs/queues/hooks-exact', {
      token: t.apiKey,
      body: { target: { type: 'sql', function: 'public.record_hook' } },
    });
    expect(queue.status, JSON.stringify(queue.body)).toBeLessThan(300);
    const endpoint = await t.request('POST', '/api/webhooks/incoming', {
      token: t.apiKey,
      body: {
        name: 'exact',
        verification: { scheme: 'none' },
        target: { type: 'queue', queue: 'hooks-exact' },
      },
    });
    expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
    const hook = (body: string) =>
      fetch(`${t.baseUrl}/api/webhooks/in/exact/${endpoint.body.secret}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
    expect((await hook(`{"n": ${BIG_NUMERIC}, "f": ${LONG_FRACTION}}`)).status).toBe(200);
    // The job it was handed on as holds the numbers as sent.
    const { rows } = await sql.query<{ payload: string }>(
      "SELECT (payload->'payload')::text AS payload FROM jobs.jobs WHERE queue = 'hooks-exact'",
    );
    expect(rows).toEqual([{ payload: `{"f": ${LONG_FRACTION}, "n": ${BIG_NUMERIC}}` }]);
    // And the job's SQL target receives them so.
    const logged = await until(async () => {
      const found = await sql.query<{ payload: string }>('SELECT payload FROM public.hook_log');
      return found.rows[0]?.payload;
    });
    expect(logged).toBe(`{"f": ${LONG_FRACTION}, "n": ${BIG_NUMERIC}}`);
    const deep = '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000);
    const res = await hook(deep);
    expect(res.status).toBeLessThan(500);
  });
});

describe('bad input is a 4xx, never a 5xx', () => {
  it('malformed percent-encoding in a path is a 400 everywhere', async () => {
    for (const path of [
      '/api/database/records/%zz',
      '/api/database/rpc/%E0%A4%A',
      '/api/storage/buckets/%zz/objects',
      '/api/realtime/channels/%zz',
      '/api/storage/buckets/b/objects/%zz',
      '/api/webhooks/in/%zz',
      '/functions/%zz',
      '/dashboard/%zz',
      '/auth/%zz',
      '/api/nothing/%zz',
    ]) {
      const res = await send('GET', path);
      expect(res.status, path).toBe(400);
    }
  });

  it('an unknown charset is a 415', async () => {
    for (const path of [
      '/api/database/records/amounts',
      '/api/database/rpc/echo_big',
      '/api/auth/sessions',
    ]) {
      const res = await send('POST', path, '{"id": 20}', {
        'content-type': 'application/json; charset=nope',
      });
      expect(res.status, path).toBe(415);
    }
  });

  it('a 20,000-deep JSON object is a 400', async () => {
    const deep = '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000);
    const res = await send('POST', '/api/database/records/amounts', `{"id": 21, "data": ${deep}}`);
    expect(res.status).toBe(400);
    const rpc = await send('POST', '/api/database/rpc/echo_json', `{"j": ${deep}}`);
    expect(rpc.status).toBe(400);
  });

  it('raw SQL with fewer parameters than placeholders, or a NUL, is a 400', async () => {
    const token = await t.adminToken();
    const raw = (body: unknown) =>
      t.request('POST', '/api/database/advance/rawsql', { body, token });
    const few = await raw({ query: 'SELECT $1::int + $2::int AS s', params: [1] });
    expect(few.status).toBe(400);
    const nul = await raw({ query: 'SELECT 1\u0000; SELECT 2' });
    expect(nul.status).toBe(400);
    // The pool is healthy afterwards.
    for (let i = 0; i < 8; i++) {
      const ok = await raw({ query: 'SELECT 1 AS one' });
      expect(ok.status).toBe(200);
    }
  });
});

describe('a connection PostgreSQL ends under a request', () => {
  it('is a 503 with Retry-After ("come back"), never a 500, and the next requests are served', async () => {
    await sql.query(`
      CREATE FUNCTION public.slow_for_terminate() RETURNS int LANGUAGE sql
        AS 'SELECT pg_catalog.pg_sleep(30)::text::int + 1';
      GRANT EXECUTE ON FUNCTION public.slow_for_terminate() TO anon, authenticated;
      NOTIFY pgrst, 'reload schema';
    `);
    // Ends the call's backend once it runs, as an operator or a failover would; stops when the
    // call answered first (the schema cache may not know the function yet: 404, tried again).
    const terminateWhileRunning = async (answered: { done: boolean }) => {
      while (!answered.done) {
        const { rows } = await sql.query<{ n: number }>(
          `SELECT count(pg_catalog.pg_terminate_backend(pid))::int AS n FROM pg_catalog.pg_stat_activity
            WHERE query LIKE '%slow_for_terminate%' AND pid <> pg_catalog.pg_backend_pid()
              AND query NOT LIKE '%pg_stat_activity%'`,
        );
        if (rows[0]!.n > 0) return;
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    for (const call of [
      // Records RPC (PostgREST's envelope) and raw SQL (Kiln's).
      () => send('POST', '/api/database/rpc/slow_for_terminate', '{}'),
      async () =>
        t.request('POST', '/api/database/advance/rawsql', {
          body: { query: 'SELECT public.slow_for_terminate()' },
          token: await t.adminToken(),
        }),
    ]) {
      let res: { status: number; headers: Headers | Record<string, string> } | undefined;
      for (let attempt = 0; attempt < 20 && !res; attempt++) {
        const answered = { done: false };
        const [answer] = await Promise.all([
          call().finally(() => (answered.done = true)),
          terminateWhileRunning(answered),
        ]);
        // The schema cache may not know the function for a moment: try again.
        if (answer.status !== 404) res = answer;
      }
      expect(res?.status).toBe(503);
      const headers = res!.headers;
      const retryAfter =
        headers instanceof Headers ? headers.get('retry-after') : headers['retry-after'];
      expect(Number(retryAfter)).toBeGreaterThan(0);
    }
    const after = await send('POST', '/api/database/rpc/echo_big', JSON.stringify({ x: 1 }));
    expect(after.status).toBe(200);
  });
});
