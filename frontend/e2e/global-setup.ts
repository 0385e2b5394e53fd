/**
 * Starts the real, built backend (backend/dist/server.js) once for the whole browser run: a free
 * port, a fresh DATA_DIR (so a fresh embedded PostgreSQL cluster) and known admin credentials.
 * Returns the teardown, which stops the server and removes the data folder.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAKE_KEY, FakeOpenAI } from '../../backend/test/fake-openai';
import { startFakeRazorpay } from '../../backend/test/fake-razorpay';
import { startFakeStripe } from '../../backend/test/fake-stripe';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from './constants';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, child: { exitCode: number | null }, log: () => string) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`The backend exited (${child.exitCode}):\n${log()}`);
    try {
      const res = await fetch(`${url}/health/ready`);
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`The backend did not become ready in 120 s:\n${log()}`);
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const server = path.join(root, 'backend/dist/server.js');
  const builtPages = ['frontend/dist/index.html', 'auth/dist/index.html'];
  for (const built of [server, ...builtPages.map((p) => path.join(root, p))]) {
    if (!fs.existsSync(built)) throw new Error(`${built} is missing: run "pnpm build" first`);
  }
  const [port, pgPort] = [await freePort(), await freePort()];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-e2e-'));
  const baseUrl = `http://127.0.0.1:${port}`;
  // The AI gateway's upstream: a local OpenAI-compatible stand-in (the API tests' one), its
  // streamed answers a word every 150 ms so the playground visibly receives them in pieces.
  const aiUpstream = new FakeOpenAI();
  aiUpstream.chunkDelayMs = 150;
  await aiUpstream.start();
  // Payments: local stand-ins for the Stripe and Razorpay APIs (the API tests' ones).
  const [fakeStripe, fakeRazorpay] = [await startFakeStripe(), await startFakeRazorpay()];
  process.env.KILN_E2E_FAKE_STRIPE_URL = fakeStripe.url;
  let output = '';
  const child = spawn(process.execPath, [server], {
    cwd: dataDir,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'test',
      PORT: String(port),
      API_BASE_URL: baseUrl,
      DATA_DIR: dataDir,
      EMBEDDED_POSTGRES_PORT: String(pgPort),
      ADMIN_EMAIL,
      ADMIN_PASSWORD,
      // info: the API's access lines are written (the Logs spec searches them).
      LOG_LEVEL: 'info',
      // Every spec signs in from 127.0.0.1: the per-IP auth limits are for real clients.
      AUTH_RATE_LIMIT_SIGN_IN: '100000',
      AUTH_RATE_LIMIT_SIGN_UP: '100000',
      AUTH_RATE_LIMIT_EMAIL: '100000',
      AUTH_RATE_LIMIT_VERIFY: '100000',
      AI_BASE_URL: aiUpstream.url,
      AI_API_KEY: FAKE_KEY,
      STRIPE_API_BASE: fakeStripe.url,
      RAZORPAY_API_BASE: fakeRazorpay.url,
      // Webhooks answered with a 5xx give up after 1 s (retried for a day by default), so the
      // Realtime spec gets a failed delivery to replay in moments.
      WEBHOOK_RETRY_PERIOD_SECONDS: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  await waitReady(baseUrl, child, () => output);
  process.env.KILN_E2E_BASE_URL = baseUrl;
  // Specs read the development logs there (SMS codes: DATA_DIR/logs/sms-dev.log).
  process.env.KILN_E2E_DATA_DIR = dataDir;

  return async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    await aiUpstream.stop();
    await fakeStripe.close();
    await fakeRazorpay.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
}
