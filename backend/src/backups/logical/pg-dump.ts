/**
 * pg_dump against any PostgreSQL Kiln can reach, without a pg_dump binary on the machine:
 * `@electric-sql/pglite-tools` ships pg_dump (17+) compiled to WebAssembly, whose libpq does its
 * socket I/O through two callbacks (`_pgl_set_rw_cbs(read, write)`). The module runs in a worker
 * thread; its write callback hands the bytes to this thread, which sends them on a real TCP (or
 * TLS) connection to the server; its read callback blocks the worker (`Atomics.wait`) until this
 * thread has put at least one byte of the server's answer into a shared buffer, as a blocking
 * socket would. libpq authenticates itself (SCRAM / MD5 with PGPASSWORD). TLS is terminated
 * here: sslmode from the URL (disable / allow / prefer / require / verify-ca / verify-full; libpq's
 * default `prefer` when absent), and libpq inside speaks plaintext over the relay.
 *
 * The dump is written by the worker straight to a file through a device in the module's file
 * system (byte for byte, never held in memory).
 *
 * A hung connection (a server or network that stops answering without closing) fails the dump:
 * whenever pg_dump waits for the server (connecting, or a read that has no byte yet) for longer
 * than `idleTimeoutMs`, the connection is given up and the dump rejects with
 * {@link DumpIdleTimeoutError}.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { Worker } from 'node:worker_threads';

/** The worker: loads the emscripten factory of the package's pg_dump build and runs main(). */
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
(async () => {
  const { dist, args, env, out, ctrl, data } = workerData;
  const control = new Int32Array(ctrl);
  const shared = new Uint8Array(data);
  // The factory is the module-level emscripten loader in the package's bundle; it is not
  // exported, so the bundle is loaded with one export added.
  const bundle = fs.readdirSync(dist).find((f) => /^chunk-.*\\.js$/.test(f)
    && fs.readFileSync(path.join(dist, f), 'utf8').includes('_pgl_set_rw_cbs'));
  if (!bundle) throw new Error('pg_dump module not found in ' + dist);
  let source = fs.readFileSync(path.join(dist, bundle), 'utf8');
  const found = /var (\\w+)=\\(\\(\\)=>\\{var _scriptName=import\\.meta\\.url;return async function/.exec(source);
  if (!found) throw new Error('pg_dump module factory not found in ' + bundle);
  source = source.replace(/\\/\\/# sourceMappingURL=.*$/, '') + ';export const kilnPgDumpFactory = ' + found[1] + ';';
  const { kilnPgDumpFactory } = await import('data:text/javascript;base64,' + Buffer.from(source).toString('base64'));
  const fd = fs.openSync(out, 'w', 0o600);
  let seq = 0;
  let messages = '';
  let exitCode = 0;
  const mod = await kilnPgDumpFactory({
    noExitRuntime: false,
    thisProgram: 'pg_dump',
    locateFile: (file) => path.join(dist, file),
    wasmBinary: fs.readFileSync(path.join(dist, 'pg_dump.wasm')),
    print: (text) => { messages += text + '\\n'; },
    printErr: (text) => { messages += text + '\\n'; },
    onExit: (status) => { exitCode = status; },
    preRun: [(m) => { Object.assign(m.ENV, env); }],
  });
  const write = mod.addFunction((ptr, length) => {
    parentPort.postMessage({ t: 'write', bytes: mod.HEAPU8.slice(ptr, ptr + length) });
    return length;
  }, 'iii');
  const read = mod.addFunction((ptr, max) => {
    parentPort.postMessage({ t: 'read', max: Math.min(max, shared.length) });
    Atomics.wait(control, 0, seq);
    seq = Atomics.load(control, 0);
    const n = control[1];
    if (n > 0) mod.HEAPU8.set(shared.subarray(0, n), ptr);
    return n;
  }, 'iii');
  mod._pgl_set_rw_cbs(read, write);
  const device = mod.FS.makedev(64, 0);
  mod.FS.registerDevice(device, {
    open() {},
    close() {},
    llseek(stream, offset) { return offset; },
    write(stream, buffer, offset, length) { fs.writeSync(fd, buffer, offset, length); return length; },
  });
  mod.FS.mkdev('/dev/kiln-dump', device);
  try {
    mod.callMain([...args, '--file=/dev/kiln-dump']);
  } catch (err) {
    if (!exitCode) { exitCode = 1; messages += String(err && err.message || err); }
  }
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  parentPort.postMessage({ t: 'done', exitCode, messages });
})().catch((err) => parentPort.postMessage({ t: 'done', exitCode: -1, messages: String(err && err.message || err).slice(0, 2000) }));
`;

/** The server sent nothing for the idle timeout while the dump waited for it. */
export class DumpIdleTimeoutError extends Error {
  constructor(idleTimeoutMs: number, during: string) {
    super(
      `pg_dump gave up: the database server sent nothing for ${idleTimeoutMs / 1000} s ${during} (BACKUP_DUMP_IDLE_TIMEOUT_MS); the connection looks hung`,
    );
  }
}

/** Rejects with DumpIdleTimeoutError when `promise` has not settled within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, during: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DumpIdleTimeoutError(ms, during)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

/** A connection to the server, TLS negotiated as sslmode asks; what libpq inside sees is plaintext. */
async function connect(url: URL, idleTimeoutMs: number): Promise<net.Socket> {
  const host = decodeURIComponent(url.hostname.replace(/^\[|\]$/g, '')) || 'localhost';
  const port = Number(url.port || 5432);
  const mode = (url.searchParams.get('sslmode') ?? 'prefer') as SslMode;
  if (!['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'].includes(mode)) {
    throw new Error(`Unsupported sslmode "${mode}"`);
  }
  const socket = net.connect({ host, port });
  try {
    return await within(negotiate(socket, url, host, mode), idleTimeoutMs, 'while connecting');
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

async function negotiate(
  socket: net.Socket,
  url: URL,
  host: string,
  mode: SslMode,
): Promise<net.Socket> {
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  if (mode === 'disable' || mode === 'allow') return socket;
  // SSLRequest: length 8, code 80877103.
  const request = Buffer.alloc(8);
  request.writeInt32BE(8, 0);
  request.writeInt32BE(80877103, 4);
  socket.write(request);
  const answer = await new Promise<string>((resolve, reject) => {
    socket.once('data', (b: Buffer) => resolve(String.fromCharCode(b[0]!)));
    socket.once('error', reject);
  });
  socket.removeAllListeners('error');
  if (answer !== 'S') {
    if (mode === 'prefer') return socket;
    socket.destroy();
    throw new Error(`The server does not accept TLS connections (sslmode=${mode})`);
  }
  const ca = url.searchParams.get('sslrootcert');
  const secure = tls.connect({
    socket,
    servername: net.isIP(host) ? undefined : host,
    rejectUnauthorized: mode === 'verify-ca' || mode === 'verify-full',
    ca: ca ? fs.readFileSync(ca) : undefined,
    // verify-ca checks the chain only, not the name.
    checkServerIdentity: mode === 'verify-full' ? undefined : () => undefined,
  });
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', resolve);
    secure.once('error', reject);
  });
  return secure;
}

function quoteConninfo(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * Dumps the database at `url` as plain SQL into `outFile` (pg_dump --no-owner: owners differ
 * between clusters; privileges, policies and everything else are kept). Rejects with
 * pg_dump's own message when it fails.
 */
export async function pgDump(options: {
  url: string;
  outFile: string;
  extraArgs?: string[];
  /** Longest wait for the server (connecting, or a read with nothing received yet). */
  idleTimeoutMs: number;
}): Promise<void> {
  const url = new URL(options.url);
  const require = createRequire(import.meta.url);
  const dist = path.dirname(require.resolve('@electric-sql/pglite-tools/pg_dump'));
  const idleMs = options.idleTimeoutMs;
  const socket = await connect(url, idleMs);
  const ctrl = new SharedArrayBuffer(8);
  const data = new SharedArrayBuffer(256 * 1024);
  const control = new Int32Array(ctrl);
  const shared = new Uint8Array(data);
  const queue: Buffer[] = [];
  let queued = 0;
  let wanted = 0;
  let closed = false;
  /** Runs while pg_dump waits for a byte the server has not sent. */
  let idle: NodeJS.Timeout | undefined;
  let hung: ((err: Error) => void) | undefined;
  /** Answers a pending read once there is at least one byte (or the connection closed: EOF). */
  const serve = () => {
    if (!wanted) return;
    if (!queued && !closed) {
      idle ??= setTimeout(() => {
        // Given up: the read answers EOF (the socket closes) and the dump fails with this.
        hung?.(new DumpIdleTimeoutError(idleMs, 'while the dump waited for it'));
        socket.destroy();
      }, idleMs);
      return;
    }
    clearTimeout(idle);
    idle = undefined;
    let n = 0;
    while (queue.length && n < wanted) {
      const head = queue[0]!;
      const take = Math.min(head.length, wanted - n);
      shared.set(head.subarray(0, take), n);
      n += take;
      if (take === head.length) queue.shift();
      else queue[0] = head.subarray(take);
    }
    queued -= n;
    wanted = 0;
    control[1] = n;
    Atomics.add(control, 0, 1);
    Atomics.notify(control, 0);
  };
  socket.on('data', (b: Buffer) => {
    queue.push(b);
    queued += b.length;
    serve();
  });
  socket.on('close', () => {
    closed = true;
    serve();
  });
  let socketError: Error | undefined;
  socket.on('error', (err) => {
    socketError = err;
  });

  const database = decodeURIComponent(url.pathname.slice(1)) || decodeURIComponent(url.username);
  const conninfo = [
    `host=${quoteConninfo(url.hostname || 'localhost')}`,
    `port=${url.port || '5432'}`,
    `dbname=${quoteConninfo(database)}`,
    `user=${quoteConninfo(decodeURIComponent(url.username) || 'postgres')}`,
    'sslmode=disable',
    'gssencmode=disable',
    "application_name='kiln-logical-backup'",
  ].join(' ');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      dist,
      ctrl,
      data,
      out: options.outFile,
      env: {
        PGPASSWORD: decodeURIComponent(url.password),
        PGCONNECT_TIMEOUT: '30',
        HOME: '/home/postgres',
        USER: 'postgres',
        LOGNAME: 'postgres',
      },
      args: [
        `--dbname=${conninfo}`,
        '--format=plain',
        '--no-owner',
        '--encoding=UTF8',
        ...(options.extraArgs ?? []),
      ],
    },
  });
  try {
    const result = await new Promise<{ exitCode: number; messages: string }>((resolve, reject) => {
      hung = reject;
      worker.on(
        'message',
        (m: {
          t: string;
          bytes?: Uint8Array;
          max?: number;
          exitCode?: number;
          messages?: string;
        }) => {
          if (m.t === 'write') socket.write(m.bytes!);
          else if (m.t === 'read') {
            wanted = m.max!;
            serve();
          } else resolve({ exitCode: m.exitCode ?? -1, messages: m.messages ?? '' });
        },
      );
      worker.on('error', reject);
      worker.on('exit', (code) => reject(new Error(`pg_dump worker exited (${code})`)));
    });
    if (result.exitCode !== 0) {
      const text = result.messages.trim() || (socketError ? socketError.message : '');
      throw new Error(`pg_dump failed (exit ${result.exitCode}): ${text}`);
    }
  } finally {
    clearTimeout(idle);
    socket.destroy();
    await worker.terminate();
  }
}
