import net from 'node:net';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  dropTestDatabase,
  pgUrl,
  startTestApp,
  type TestApp,
} from './helpers.js';

/**
 * PostgreSQL out of reach for seconds, then back (issue 24): every long-lived connection of
 * Kiln's (the LISTEN connections of realtime, the schema cache and the credential list, the job
 * workers') comes back by itself and catches up on what it missed. The app reaches PostgreSQL
 * through a TCP relay: for the outage its connections are terminated as at a shutdown (57P01)
 * and the relay refuses new ones, then lets them through again. (The test cluster itself is
 * shared by every test file running at the time: it is not stopped.) The test writes to
 * PostgreSQL directly meanwhile, as another instance or a trigger would.
 */
class Relay {
  private readonly server = net.createServer((client) => this.accept(client));
  private readonly open = new Set<net.Socket>();
  private up = true;

  constructor(private readonly target: { host: string; port: number }) {}

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  private accept(client: net.Socket): void {
    if (!this.up) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.target.port, this.target.host);
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.open.add(a);
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        this.open.delete(a);
        b.destroy();
      });
    }
  }

  /** PostgreSQL goes away: every connection is reset, new ones are refused. */
  cut(): void {
    this.up = false;
    for (const socket of this.open) socket.destroy();
  }

  /** New connections are refused; the open ones go on. */
  refuseNew(): void {
    this.up = false;
  }

  restore(): void {
    this.up = true;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const OUTAGE_MS = 5000;
const SETUP = `
CREATE FUNCTION public.say(channel text, msg text) RETURNS uuid LANGUAGE sql
  AS $$ SELECT realtime.publish(channel, 'said', jsonb_build_object('msg', msg)) $$;
CREATE TABLE public.job_log (msg text);
GRANT ALL ON public.job_log TO project_admin;
CREATE FUNCTION public.log_job(payload jsonb) RETURNS text LANGUAGE sql
  AS $$ INSERT INTO public.job_log VALUES (payload->>'msg'); SELECT 'logged' $$;
GRANT EXECUTE ON FUNCTION public.log_job(jsonb) TO project_admin;
`;

let t: TestApp;
let relay: Relay;
let database: string;
let direct: pg.Client;
const sockets: Socket[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  direct = new pg.Client({ connectionString: pgUrl(database) });
  await direct.connect();
  await direct.query(SETUP);
  const url = new URL(pgUrl(database));
  relay = new Relay({ host: url.hostname, port: Number(url.port) });
  url.hostname = '127.0.0.1';
  url.port = String(await relay.listen());
  t = await startTestApp({ databaseUrl: url.toString() }, { JOBS_POLL_INTERVAL_MS: '200' });
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await t?.stop();
  await relay?.close();
  await direct?.end();
  if (database) await dropTestDatabase(database);
});

/** Resolves with the `msg` of every `said` message the socket receives, in order. */
function heard(socket: Socket): string[] {
  const list: string[] = [];
  socket.on('said', (payload: { msg: string }) => list.push(payload.msg));
  return list;
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('PostgreSQL unreachable for seconds', () => {
  it('realtime, the schema cache, jobs and readiness recover, and what was missed is caught up', async () => {
    const channel = await t.request('POST', '/api/realtime/channels', {
      token: t.apiKey,
      body: { pattern: 'outage:%' },
    });
    expect(channel.status).toBe(201);
    const queue = await t.request('PUT', '/api/jobs/queues/outage', {
      token: t.apiKey,
      body: { target: { type: 'sql', function: 'public.log_job' } },
    });
    expect(queue.status, JSON.stringify(queue.body)).toBeLessThan(300);
    const logged = async () =>
      (await direct.query<{ msg: string }>('SELECT msg FROM public.job_log')).rows.map(
        (r) => r.msg,
      );
    const inboxes: string[][] = [];
    for (let i = 0; i < 3; i++) {
      const socket = io(t.baseUrl, { transports: ['websocket'], auth: { token: t.apiKey } });
      sockets.push(socket);
      await new Promise((resolve, reject) => {
        socket.once('connect', () => resolve(undefined));
        socket.once('connect_error', reject);
      });
      expect(await socket.emitWithAck('realtime:subscribe', { channel: 'outage:1' })).toMatchObject(
        { ok: true },
      );
      inboxes.push(heard(socket));
    }
    const say = (msg: string) =>
      t.request('POST', '/api/database/rpc/say', {
        token: t.apiKey,
        body: { channel: 'outage:1', msg },
      });
    expect((await say('before')).status).toBe(200);
    await until('the first message', () => inboxes.every((m) => m.includes('before')));

    // As at a shutdown: every connection of the app's is told "terminating connection due to
    // administrator command" (57P01) and closed; then nothing gets through.
    relay.refuseNew();
    const cutAt = Date.now();
    await direct.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    relay.cut();
    // Meanwhile, PostgreSQL itself goes on: a message is stored (its announcement reaches no
    // listener of this instance) and a table is created (so is its schema-change event).
    await direct.query(`SELECT realtime.publish('outage:1', 'said', '{"msg": "during"}')`);
    await direct.query(`SELECT jobs.enqueue('outage', '{"msg": "during"}')`);
    await direct.query(
      'CREATE TABLE public.made_during (id int PRIMARY KEY); GRANT SELECT ON public.made_during TO anon, authenticated',
    );
    const down = await fetch(`${t.baseUrl}/health/ready`);
    expect(down.status).toBe(503);
    await new Promise((r) => setTimeout(r, OUTAGE_MS - (Date.now() - cutAt)));
    relay.restore();

    await until(
      '/health/ready',
      async () => (await fetch(`${t.baseUrl}/health/ready`)).status === 200,
    );
    // Stored while nobody listened: caught up after the reconnect.
    await until('the message stored during the outage', () =>
      inboxes.every((m) => m.includes('during')),
    );
    // The schema cache reloaded after its reconnect: the table made meanwhile is served.
    await until(
      'the schema cache',
      async () =>
        (await t.request('GET', '/api/database/records/made_during', { token: t.apiKey }))
          .status === 200,
    );
    // And new messages flow again.
    await until('publishing to work again', async () => (await say('after')).status === 200);
    await until('the message published after the outage', () =>
      inboxes.every((m) => m.includes('after')),
    );
    // Jobs: the one queued meanwhile runs, and new ones do.
    const job = await t.request('POST', '/api/jobs/queues/outage/jobs', {
      token: t.apiKey,
      body: { payload: { msg: 'after' } },
    });
    expect(job.status).toBe(201);
    await until('both jobs to run', async () => (await logged()).sort().join() === 'after,during');
    for (const inbox of inboxes) {
      expect(inbox.filter((m) => m === 'during')).toHaveLength(1);
      expect(inbox.indexOf('before')).toBeLessThan(inbox.indexOf('during'));
    }
  });

  it('is not ready while a LISTEN connection is away, and catches up when it is back', async () => {
    const inbox = heard(sockets[0]!);
    // The database stays reachable through the connections open now; the realtime listener's is
    // cut and cannot come back until the relay takes new connections again.
    relay.refuseNew();
    await direct.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'kiln-realtime' AND datname = current_database()",
    );
    await until('readiness to say the listener is away', async () => {
      const res = await fetch(`${t.baseUrl}/health/ready`);
      const body = (await res.json()) as { reason?: string; database: string };
      return res.status === 503 && body.database === 'ok' && /realtime/.test(body.reason ?? '');
    });
    await direct.query(`SELECT realtime.publish('outage:1', 'said', '{"msg": "relistening"}')`);
    relay.restore();
    await until(
      '/health/ready',
      async () => (await fetch(`${t.baseUrl}/health/ready`)).status === 200,
    );
    await until('the message stored meanwhile', () => inbox.includes('relistening'));
  });
});
