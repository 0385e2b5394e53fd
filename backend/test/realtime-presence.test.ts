import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgUrl, startTestApp, type TestApp } from './helpers.js';
import { freePort } from './ports.js';

/**
 * Presence across instances: instance A runs in this process, instance B is the real server
 * process (backend/dist/server.js) on the same database, so it can be killed without a goodbye.
 */
const SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url));
// An instance counts as gone after three missed beats. At 200 ms that was 600 ms, which an event
// loop or a pool stalled on a loaded machine can exceed: a live instance's members were then swept.
const HEARTBEAT_MS = 1000;

let t: TestApp;
let sql: pg.Client;
const sockets: Socket[] = [];
const children: ChildProcess[] = [];
const tempDirs: string[] = [];

beforeAll(async () => {
  t = await startTestApp({}, { REALTIME_PRESENCE_HEARTBEAT_MS: String(HEARTBEAT_MS) });
  sql = new pg.Client({ connectionString: pgUrl(t.database) });
  await sql.connect();
  const res = await t.request('POST', '/api/realtime/channels', {
    token: t.apiKey,
    body: { pattern: 'room:%' },
  });
  expect(res.status).toBe(201);
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await sql?.end();
  await t?.stop();
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

async function startInstanceB(): Promise<{ url: string; child: ChildProcess }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-presence-'));
  tempDirs.push(dataDir);
  const port = await freePort();
  let output = '';
  const child = spawn(process.execPath, [SERVER], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: pgUrl(t.database),
      JWT_SECRET: t.app.config.jwtSecret!,
      ADMIN_PASSWORD: 'presence-test-password',
      REALTIME_PRESENCE_HEARTBEAT_MS: String(HEARTBEAT_MS),
      LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`instance B exited:\n${output}`);
    const ok = await fetch(`${url}/api/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { url, child };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`instance B did not start:\n${output}`);
}

function connect(url: string, token: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = io(url, { transports: ['websocket'], auth: { token }, reconnection: false });
    sockets.push(socket);
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}
const subscribe = (socket: Socket, channel: string) =>
  new Promise<any>((resolve) => socket.emit('realtime:subscribe', { channel }, resolve));
const next = <T = any>(socket: Socket, event: string, ms = 5000) =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    socket.once(event, (payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
const ids = (ack: any) => ack.presence.members.map((m: { presenceId: string }) => m.presenceId);

describe('presence across instances', () => {
  it('lists and announces members on every instance, and sweeps those of a killed instance', async () => {
    const b = await startInstanceB();
    const user = await t.signUpUser();
    const onA = await connect(t.baseUrl, user.accessToken);
    const onB = await connect(b.url, t.anonKey);

    expect((await subscribe(onA, 'room:1')).ok).toBe(true);
    // A hears of B's member; B's ack lists both, with their roles (not who they are: anyone
    // may subscribe to room:%, so presence names nobody).
    const joinedOnA = next(onA, 'presence:join');
    const ackB = await subscribe(onB, 'room:1');
    expect(ackB.ok).toBe(true);
    expect(ackB.presence.members).toEqual([
      expect.objectContaining({ presenceId: onA.id, userId: null, role: 'authenticated' }),
      expect.objectContaining({ presenceId: onB.id, userId: null, role: 'anon' }),
    ]);
    expect(ackB.presence.total).toBe(2);
    expect(JSON.stringify(ackB)).not.toContain(user.userId);
    expect((await joinedOnA).member).toMatchObject({ presenceId: onB.id, role: 'anon' });
    expect((await joinedOnA).meta).toMatchObject({ channel: 'room:1', senderType: 'system' });

    // A second member on A is announced to B; an unsubscribe on B is announced to A.
    const second = await connect(t.baseUrl, t.anonKey);
    const joinedOnB = next(onB, 'presence:join');
    expect(ids(await subscribe(second, 'room:1')).sort()).toEqual(
      [onA.id, onB.id, second.id].sort(),
    );
    expect((await joinedOnB).member.presenceId).toBe(second.id);
    const leftOnA = next(onA, 'presence:leave');
    onB.emit('realtime:unsubscribe', { channel: 'room:1' });
    expect((await leftOnA).member.presenceId).toBe(onB.id);

    // A socket that drops without a goodbye (on the other instance) leaves too.
    // (Presence is coalesced: a member that comes and goes between two updates is never
    // announced, so the test waits for the join first.)
    const dropper = await connect(b.url, t.anonKey);
    const dropperJoined = next(onA, 'presence:join');
    await subscribe(dropper, 'room:1');
    expect((await dropperJoined).member.presenceId).toBe(dropper.id);
    const dropperId = dropper.id;
    const droppedOnA = next(onA, 'presence:leave');
    dropper.disconnect();
    expect((await droppedOnA).member.presenceId).toBe(dropperId);

    // Instance B is killed with members subscribed: the survivors sweep them once its
    // heartbeat is stale and announce each leave exactly once.
    const doomed = await connect(b.url, t.anonKey);
    const doomedJoined = next(onA, 'presence:join');
    await subscribe(doomed, 'room:1');
    expect((await doomedJoined).member.presenceId).toBe(doomed.id);
    const doomedId = doomed.id;
    const leaves: any[] = [];
    onA.on('presence:leave', (m) => leaves.push(m));
    b.child.kill('SIGKILL');
    const deadline = Date.now() + 20_000;
    while (!leaves.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    expect(leaves.map((m) => m.member.presenceId)).toEqual([doomedId]);
    const late = await connect(t.baseUrl, t.anonKey);
    expect(ids(await subscribe(late, 'room:1')).sort()).toEqual(
      [onA.id, second.id, late.id].sort(),
    );
    await new Promise((r) => setTimeout(r, 4 * HEARTBEAT_MS));
    expect(leaves).toHaveLength(1);
    const { rows } = await sql.query(
      `SELECT presence_id FROM realtime.presence WHERE channel = 'room:1' ORDER BY presence_id`,
    );
    expect(rows.map((r) => r.presence_id)).toEqual([onA.id, second.id, late.id].sort());
  });

  it('a gracefully stopped instance takes its members with it at once', async () => {
    const { createApp } = await import('../src/app.js');
    const { createLogger } = await import('../src/core/logger.js');
    const other = await createApp(
      { ...t.app.config },
      { logger: createLogger({ level: 'error', stdout: true }) },
    );
    const { port } = await other.listen(0, '127.0.0.1');
    const watcher = await connect(t.baseUrl, t.anonKey);
    await subscribe(watcher, 'room:2');
    const leaving = await connect(`http://127.0.0.1:${port}`, t.anonKey);
    const joined = next(watcher, 'presence:join');
    await subscribe(leaving, 'room:2');
    await joined;
    const left = next(watcher, 'presence:leave', 1000);
    const leavingId = leaving.id;
    await other.close();
    expect((await left).member.presenceId).toBe(leavingId);
  });
});
