/**
 * The process-wide policy for errors nothing caught (core/process-errors.ts): an uncaught
 * exception is logged with the request id and ends the process through the graceful shutdown
 * (exit 1); an unhandled rejection is logged and the process keeps serving. The handlers alone,
 * then the real server process (backend/dist/server.js, built by `pnpm test` first) with a
 * preload of this test's that raises each on SIGUSR2: Kiln has no hook of its own for it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../src/core/logger.js';
import { processErrorPolicy } from '../src/core/process-errors.js';
import { runInRequestScope } from '../src/core/request-scope.js';
import { createTestDatabase, dropTestDatabase, pgUrl } from './helpers.js';
import { freePort } from './ports.js';

const SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url));
const cleanup: (() => void | Promise<void>)[] = [];
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

function capture() {
  const lines: { message: string; meta: Record<string, unknown> }[] = [];
  const logger = {
    error: (message: string, meta: Record<string, unknown>) => lines.push({ message, meta }),
  } as unknown as Logger;
  return { lines, logger };
}

const scope = (requestId: string) => ({
  signal: new AbortController().signal,
  ip: '127.0.0.1',
  requestId,
});

describe('the policy', () => {
  it('an unhandled rejection is logged with its request id; the process goes on', () => {
    const { lines, logger } = capture();
    const shutdown = vi.fn();
    const exit = vi.fn();
    const policy = processErrorPolicy({ logger, shutdown, exit, forceExitMs: 1 });
    runInRequestScope(scope('req-rejected'), () =>
      policy.onUnhandledRejection(new TypeError('nobody awaited this')),
    );
    policy.onUnhandledRejection('a bare reason');
    expect(lines[0]!.message).toMatch(/unhandled promise rejection/);
    expect(lines[0]!.meta).toMatchObject({
      error: 'TypeError: nobody awaited this',
      requestId: 'req-rejected',
    });
    expect(lines[0]!.meta.stack).toContain('nobody awaited this');
    expect(lines[1]!.meta).toEqual({ error: 'a bare reason' });
    expect(shutdown).not.toHaveBeenCalled();
    expect(exit).not.toHaveBeenCalled();
  });

  it('an uncaught exception is logged with its request id, then the graceful shutdown runs with exit code 1, cut short if it hangs', async () => {
    const { lines, logger } = capture();
    const shutdown = vi.fn(() => new Promise(() => undefined));
    const exit = vi.fn();
    const policy = processErrorPolicy({ logger, shutdown, exit, forceExitMs: 20 });
    runInRequestScope(scope('req-thrown'), () =>
      policy.onUncaughtException(new Error('state half written')),
    );
    expect(lines[0]!.message).toMatch(/uncaught exception/);
    expect(lines[0]!.meta).toMatchObject({
      error: 'Error: state half written',
      requestId: 'req-thrown',
      origin: 'uncaughtException',
    });
    expect(shutdown).toHaveBeenCalledWith('uncaughtException', 1);
    await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(1));
  });
});

describe('the server process', { timeout: 120_000 }, () => {
  it('keeps serving after an unhandled rejection and shuts down with exit 1 after an uncaught exception', async () => {
    const database = await createTestDatabase();
    cleanup.push(() => dropTestDatabase(database));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-proc-errors-'));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const preload = path.join(dir, 'raise-on-sigusr2.mjs');
    fs.writeFileSync(
      preload,
      `let n = 0;
process.on('SIGUSR2', () => {
  if (n++ === 0) void Promise.reject(new Error('test-raised rejection'));
  else setTimeout(() => { throw new Error('test-raised exception'); });
});
`,
    );
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', pathToFileURL(preload).href, SERVER], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        ADMIN_PASSWORD: 'process-test-password',
        DATABASE_URL: pgUrl(database),
        JWT_SECRET: 'a-process-errors-jwt-secret-of-32-characters',
        DATA_DIR: path.join(dir, 'data'),
        PORT: String(port),
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanup.push(() => void (child.exitCode === null && child.kill('SIGKILL')));
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const health = () =>
      fetch(`http://127.0.0.1:${port}/api/health`).then(
        (r) => r.status,
        () => 0,
      );
    await vi.waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`exited early:\n${output}`);
        expect(await health()).toBe(200);
      },
      { timeout: 60_000, interval: 100 },
    );

    child.kill('SIGUSR2');
    await vi.waitFor(() => expect(output).toContain('test-raised rejection'), { timeout: 10_000 });
    const rejection = output.split('\n').find((l) => l.includes('test-raised rejection'))!;
    expect(JSON.parse(rejection)).toMatchObject({
      level: 'error',
      message: 'unhandled promise rejection (the process keeps running)',
    });
    expect(await health()).toBe(200);

    child.kill('SIGUSR2');
    expect(await exited).toBe(1);
    const exception = output.split('\n').find((l) => l.includes('test-raised exception'))!;
    expect(JSON.parse(exception)).toMatchObject({
      level: 'error',
      message: 'uncaught exception: shutting down',
    });
    // The graceful shutdown ran to its end.
    expect(output).toContain('"message":"stopped"');
  });
});
