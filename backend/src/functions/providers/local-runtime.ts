/**
 * The local edge-function runtime: one Deno process per function (and per code version and
 * environment), started from the `deno` npm package's binary with network access only, a heap
 * limit, and the function's secrets as its whole environment. Kiln proxies invocations to it
 * over loopback HTTP with a keep-alive agent.
 *
 * A process that dies is started again on the next call; one that runs past the timeout is
 * killed (it may be looping forever, which blocks everything else it serves); idle processes
 * are stopped after a while; at most `maxProcesses` run at once (least recently used goes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';
import type { Logger } from '../../core/logger.js';
import { FunctionLoadError } from './provider.js';

const MARK = '\u0000kiln:';

export interface LocalRuntimeOptions {
  /** Where Deno caches npm:/jsr: packages (shared by every function). */
  denoDir: string;
  memoryMb: number;
  idleMs: number;
  maxProcesses: number;
  startTimeoutMs: number;
  logger: Logger;
  /** Console output and invocation records (`function.logs`). */
  functionLogger: Logger;
}

export interface FunctionImage {
  slug: string;
  /** Changes whenever the code or the environment changes. */
  fingerprint: string;
  /** Read only when a process has to be started. */
  load: () => Promise<{ code: string; env: Record<string, string> }>;
}

interface Instance {
  slug: string;
  fingerprint: string;
  child: ChildProcess | undefined;
  port: Promise<number>;
  lastUsed: number;
  inflight: number;
  stderrTail: string[];
  exited: boolean;
}

/** The Deno binary the `deno` npm package installed, and the host script next to our runtime. */
export function denoPaths(): { deno: string; host: string } {
  const require = createRequire(import.meta.url);
  const functionsPkg = require.resolve('@kiln/functions/package.json');
  const fromFunctions = createRequire(functionsPkg);
  const denoPkg = path.dirname(fromFunctions.resolve('deno/package.json'));
  const deno = path.join(denoPkg, process.platform === 'win32' ? 'deno.exe' : 'deno');
  if (!fs.existsSync(deno)) {
    throw new Error(
      `The Deno binary is missing at ${deno}: the deno package's install script did not run (pnpm: allow it in onlyBuiltDependencies, then pnpm rebuild deno)`,
    );
  }
  return { deno, host: path.join(path.dirname(functionsPkg), 'dist', 'host.ts') };
}

export class LocalRuntime {
  private readonly instances = new Map<string, Instance>();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  private readonly paths = denoPaths();
  private readonly reaper: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: LocalRuntimeOptions) {
    // Deno's package cache (under DATA_DIR by default): Kiln's user only.
    fs.mkdirSync(options.denoDir, { recursive: true, mode: 0o700 });
    this.reaper = setInterval(() => this.reap(), Math.min(options.idleMs, 30_000));
    this.reaper.unref();
  }

  /** Load the code in a throwaway process: Deno's diagnostics if it does not load. */
  async check(slug: string, code: string, env: Record<string, string>): Promise<void> {
    const child = this.spawn(env);
    const verdict = await new Promise<{ ok: boolean; error?: FunctionLoadError['details'] }>(
      (resolve) => {
        let stderr = '';
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve({
            ok: false,
            error: {
              name: 'TimeoutError',
              message: `Loading the module took longer than ${this.options.startTimeoutMs} ms`,
            },
          });
        }, this.options.startTimeoutMs);
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        const lines = readline.createInterface({ input: child.stdout! });
        lines.on('line', (line) => {
          if (!line.startsWith(MARK)) return;
          clearTimeout(timer);
          resolve(JSON.parse(line.slice(MARK.length)));
        });
        child.on('exit', () => {
          clearTimeout(timer);
          resolve({
            ok: false,
            error: { name: 'Error', message: stderr.trim() || 'Deno exited while loading' },
          });
        });
        child.stdin!.end(JSON.stringify({ mode: 'check', code, keep: Object.keys(env) }) + '\n');
      },
    );
    if (child.exitCode === null) child.kill('SIGKILL');
    if (!verdict.ok) {
      throw new FunctionLoadError(
        `Function "${slug}" does not load: ${verdict.error?.message ?? 'unknown error'}`,
        verdict.error ?? { name: 'Error', message: 'unknown error' },
      );
    }
  }

  /**
   * A running process for this image: the current one, or a new one (the previous version's
   * process finishes what it is doing and stops).
   */
  async acquire(
    image: FunctionImage,
  ): Promise<{ port: number; release: () => void; kill: () => void }> {
    if (this.closed) throw new Error('The function runtime is shutting down');
    let instance = this.instances.get(image.slug);
    if (!instance || instance.exited || instance.fingerprint !== image.fingerprint) {
      if (instance) this.retire(instance);
      instance = this.start(image);
      this.instances.set(image.slug, instance);
      this.evictBeyondLimit();
    }
    const current = instance;
    current.inflight++;
    current.lastUsed = Date.now();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      current.inflight--;
      current.lastUsed = Date.now();
    };
    try {
      const port = await current.port;
      return { port, release, kill: () => this.kill(current) };
    } catch (err) {
      release();
      if (this.instances.get(image.slug) === current) this.instances.delete(image.slug);
      throw err;
    }
  }

  get httpAgent(): http.Agent {
    return this.agent;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.reaper);
    const all = [...this.instances.values()];
    this.instances.clear();
    await Promise.all(all.map((i) => this.stop(i)));
    this.agent.destroy();
  }

  stopFunction(slug: string): void {
    const instance = this.instances.get(slug);
    if (instance) {
      this.instances.delete(slug);
      this.retire(instance);
    }
  }

  // ---- processes ---------------------------------------------------------------------------

  private spawn(env: Record<string, string>): ChildProcess {
    const o = this.options;
    const args = [
      'run',
      '--quiet',
      '--no-prompt',
      '--no-config',
      '--no-lock',
      '--allow-net',
      '--allow-env',
      // request.signal aborts only when the caller goes away (as fetch's does), not after every
      // successful answer; Deno warns about the legacy behaviour on the function's stderr.
      '--unstable-no-legacy-abort',
      `--v8-flags=--max-old-space-size=${o.memoryMb}`,
    ];
    // A machine whose TLS goes through a private CA (corporate proxy) lists it for Node; Deno
    // gets the same bundle for npm:/jsr: downloads and fetch().
    const ca =
      process.env.DENO_CERT ?? process.env.NODE_EXTRA_CA_CERTS ?? process.env.SSL_CERT_FILE;
    if (ca && fs.existsSync(ca)) args.push(`--cert=${ca}`);
    args.push(this.paths.host);
    const passthrough: Record<string, string> = {};
    for (const key of ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'NPM_CONFIG_REGISTRY']) {
      const value = process.env[key] ?? process.env[key.toLowerCase()];
      if (value) passthrough[key] = value;
    }
    return spawn(this.paths.deno, args, {
      // The function's secrets are its whole environment; the host removes Deno's own
      // variables (DENO_DIR...) before the function's code runs.
      env: {
        ...passthrough,
        ...env,
        DENO_DIR: o.denoDir,
        NO_COLOR: '1',
        DENO_NO_UPDATE_CHECK: '1',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  }

  private start(image: FunctionImage): Instance {
    const instance: Instance = {
      slug: image.slug,
      fingerprint: image.fingerprint,
      child: undefined,
      port: Promise.resolve(0),
      lastUsed: Date.now(),
      inflight: 0,
      stderrTail: [],
      exited: false,
    };
    instance.port = image.load().then(({ code, env }) => this.launch(instance, code, env));
    instance.port.catch(() => {
      instance.exited = true;
      if (this.instances.get(image.slug) === instance) this.instances.delete(image.slug);
    });
    return instance;
  }

  private launch(instance: Instance, code: string, env: Record<string, string>): Promise<number> {
    if (instance.exited) return Promise.reject(new Error('The function was stopped'));
    const image = { slug: instance.slug };
    const child = this.spawn(env);
    instance.child = child;
    const log = this.options.functionLogger;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`The function did not start within ${this.options.startTimeoutMs} ms`));
        this.kill(instance);
      }, this.options.startTimeoutMs);
      const out = readline.createInterface({ input: child.stdout! });
      out.on('line', (line) => {
        if (line.startsWith(MARK)) {
          const msg = JSON.parse(line.slice(MARK.length)) as {
            ok: boolean;
            port?: number;
            error?: { name: string; message: string };
          };
          clearTimeout(timer);
          if (msg.ok && msg.port) resolve(msg.port);
          else
            reject(
              new FunctionLoadError(
                `Function "${image.slug}" does not load: ${msg.error?.message}`,
                msg.error ?? { name: 'Error', message: 'unknown error' },
              ),
            );
          return;
        }
        log.info(line, { source: 'function.logs', slug: image.slug, stream: 'stdout' });
      });
      const err = readline.createInterface({ input: child.stderr! });
      err.on('line', (line) => {
        instance.stderrTail.push(line);
        if (instance.stderrTail.length > 20) instance.stderrTail.shift();
        log.warn(line, { source: 'function.logs', slug: image.slug, stream: 'stderr' });
      });
      child.on('exit', (code, signal) => {
        instance.exited = true;
        clearTimeout(timer);
        reject(
          new Error(
            `The function's process exited (${signal ?? `code ${code}`}) while starting: ${instance.stderrTail.join('\n')}`,
          ),
        );
        if (this.instances.get(image.slug) === instance) this.instances.delete(image.slug);
      });
      child.stdin!.end(JSON.stringify({ mode: 'serve', code, keep: Object.keys(env) }) + '\n');
    });
  }

  /** Let a replaced process finish its in-flight calls (up to a minute), then stop it. */
  private retire(instance: Instance): void {
    const started = Date.now();
    const check = () => {
      if (instance.exited) return;
      if (instance.inflight === 0 || Date.now() - started > 60_000) void this.stop(instance);
      else setTimeout(check, 100).unref();
    };
    check();
  }

  private kill(instance: Instance): void {
    if (this.instances.get(instance.slug) === instance) this.instances.delete(instance.slug);
    if (!instance.exited) instance.child?.kill('SIGKILL');
    instance.exited = true;
  }

  private stop(instance: Instance): Promise<void> {
    const child = instance.child;
    if (instance.exited || !child || child.exitCode !== null || child.signalCode !== null) {
      instance.exited = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    });
  }

  private reap(): void {
    const now = Date.now();
    for (const instance of [...this.instances.values()]) {
      if (instance.inflight === 0 && now - instance.lastUsed > this.options.idleMs) {
        this.instances.delete(instance.slug);
        void this.stop(instance);
      }
    }
  }

  private evictBeyondLimit(): void {
    if (this.instances.size <= this.options.maxProcesses) return;
    const idle = [...this.instances.values()]
      .filter((i) => i.inflight === 0)
      .sort((a, b) => a.lastUsed - b.lastUsed);
    for (const instance of idle) {
      if (this.instances.size <= this.options.maxProcesses) break;
      this.instances.delete(instance.slug);
      void this.stop(instance);
    }
  }
}

export function fingerprint(parts: unknown[]): string {
  return crypto.createHash('sha256').update(JSON.stringify(parts)).digest('base64url');
}
