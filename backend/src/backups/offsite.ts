import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { S3Options } from '../core/config.js';
import type { RunAs } from '../core/embedded-postgres.js';
import type { Logger } from '../core/logger.js';
import { listBackups, registerRestoreSource, walDir, type BaseBackup } from './pitr.js';
import { tarDirectory } from './tar.js';

/**
 * The off-site copy of BACKUP_DIR (BACKUP_S3_URL): one copier mirrors the directory into a bucket
 * under the same names, so the bucket alone is enough to restore from.
 *
 * - `wal/<segment>`: every file PostgreSQL's archive_command finished writing (temporary
 *   `*.part` names are skipped) is uploaded once, shortly after it lands (a watch on the directory
 *   plus a poll), and checked by size after the upload; the upload carries its MD5, which the
 *   store verifies. The archive_command itself stays local: a slow or unreachable bucket never
 *   holds up archiving.
 * - `<kind>/<id>/backup.tar` and `<kind>/<id>/manifest.json`: any finished backup directory of
 *   any kind (`base/<id>`, `logical/<id>`, …), finished meaning it has a manifest.json and its
 *   name is not a temporary `*.part`/`*.tmp`. The directory goes as one tar stream (a multipart
 *   upload, size checked after), manifest.json last, so a manifest in the bucket means a complete
 *   copy; a manifest that changes afterwards (verification adds `verifiedAt`) is uploaded again.
 * - Retention in the bucket: of the base backups complete there, the `retention` newest are kept
 *   (of other kinds too, each kind apart),
 *   older ones are deleted, and so are WAL segments older than the oldest kept backup's start.
 *   Nothing is ever deleted in the bucket because it is missing locally: after losing BACKUP_DIR
 *   the bucket is what remains.
 *
 * A failed pass is logged and retried with exponential backoff; `status()` says how far behind
 * the bucket is. For restores, `fetchForRestore` downloads the base backup a target needs and the
 * WAL from its start into BACKUP_DIR first (when missing there); PostgreSQL's restore_command
 * then reads the local archive as always.
 */
export interface OffsiteStatus {
  /** `s3://bucket/prefix`. */
  target: string;
  /** WAL files in BACKUP_DIR/wal not yet in the bucket. */
  pendingWal: number;
  /** Finished backup directories not (completely) in the bucket. */
  pendingBackups: number;
  lastUploadAt: string | null;
  /** The last failed pass's error, cleared by the next successful pass. */
  lastError: string | null;
  lastErrorAt: string | null;
}

const SEGMENT = /^[0-9A-F]{24}$/;
const TEMPORARY = /\.(part|tmp)$/;
const SINGLE_PUT_MAX = 16 * 1024 * 1024;
const CONCURRENCY = 8;
/** A backup directory's contents in the bucket, beside its manifest.json. */
const ARCHIVE = 'backup.tar';

interface RemoteObject {
  size: number;
  etag: string;
}

interface BackupDir {
  kind: string;
  id: string;
  dir: string;
}

/** Runs `work` over `items`, `limit` at a time. */
async function eachLimit<T>(items: T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(runners);
}

function md5(body: Buffer): Buffer {
  return crypto.createHash('md5').update(body).digest();
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}

export class OffsiteCopier {
  private readonly client: S3Client;
  /** What the bucket holds under the prefix (keys relative to it); undefined until listed. */
  private remote: Map<string, RemoteObject> | undefined;
  /** Remote base backups' manifests, by id. */
  private readonly manifests = new Map<string, BaseBackup>();
  private timer: NodeJS.Timeout | undefined;
  private watchers: fs.FSWatcher[] = [];
  private running: Promise<void> | undefined;
  private stopped = true;
  private failures = 0;
  private retryAt = 0;
  private unregister: (() => void) | undefined;
  private state = {
    pendingWal: 0,
    pendingBackups: 0,
    lastUploadAt: null as string | null,
    lastError: null as string | null,
    lastErrorAt: null as string | null,
  };

  constructor(
    private readonly options: {
      backupDir: string;
      s3: S3Options;
      /** Base backups kept in the bucket (BACKUP_RETENTION). */
      retention: number;
      logger?: Logger;
      /** Pass interval besides the directory watch (default 5 s). */
      pollMs?: number;
      /** First retry delay after a failed pass, doubled each time up to retryMaxMs. */
      retryBaseMs?: number;
      retryMaxMs?: number;
    },
  ) {
    const s3 = options.s3;
    this.client = new S3Client({
      region: s3.region,
      ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
      forcePathStyle: s3.forcePathStyle,
      maxAttempts: 2,
      requestHandler: { connectionTimeout: 5000, requestTimeout: 120_000 },
      ...(s3.accessKeyId && s3.secretAccessKey
        ? { credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } }
        : {}),
    });
  }

  get target(): string {
    return `s3://${this.options.s3.bucket}/${this.options.s3.prefix}`;
  }

  private key(rel: string): string {
    return `${this.options.s3.prefix}${rel}`;
  }

  /** Starts copying: a pass now, then on every change in BACKUP_DIR and every poll interval. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unregister = this.serveRestores();
    // BACKUP_DIR itself (a new kind), and each kind's directory (wal/, base/, …: a new segment
    // or backup); the poll catches what a watch misses.
    const root = this.options.backupDir;
    const dirs = [root];
    try {
      for (const e of fs.readdirSync(root, { withFileTypes: true }))
        if (e.isDirectory()) dirs.push(path.join(root, e.name));
    } catch {
      /* not there yet */
    }
    for (const dir of dirs) {
      try {
        const watcher = fs.watch(dir, () => this.kick());
        watcher.on('error', () => undefined);
        this.watchers.push(watcher);
      } catch {
        /* not there yet: the poll covers it */
      }
    }
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
    this.unregister?.();
    this.unregister = undefined;
    await this.running?.catch(() => undefined);
    this.client.destroy();
  }

  /** Lets restoreToTime (CLI or API) fetch what BACKUP_DIR lacks from the bucket. */
  serveRestores(): () => void {
    return registerRestoreSource(this.options.backupDir, (target, runAs) =>
      this.fetchForRestore(target, runAs),
    );
  }

  /** Something changed in BACKUP_DIR: a pass soon, unless a failed pass is waiting out backoff. */
  kick(): void {
    if (this.stopped || Date.now() < this.retryAt) return;
    this.schedule(250);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      await this.sync();
      this.schedule(this.options.pollMs ?? 5000);
    } catch {
      this.failures++;
      const delay = Math.min(
        this.options.retryMaxMs ?? 300_000,
        (this.options.retryBaseMs ?? 1000) * 2 ** (this.failures - 1),
      );
      this.retryAt = Date.now() + delay;
      this.options.logger?.warn('off-site backup copy failed; retrying', {
        target: this.target,
        error: this.state.lastError,
        retryInMs: delay,
        failures: this.failures,
      });
      this.schedule(delay);
    }
  }

  /** One pass (or waits for the one running): upload what is missing, then retention. */
  sync(): Promise<void> {
    this.running ??= this.pass()
      .then(
        () => {
          this.failures = 0;
          this.retryAt = 0;
          this.state.lastError = null;
          this.state.lastErrorAt = null;
        },
        (err: unknown) => {
          // Listed again on the next pass: what an interrupted pass left is found then.
          this.remote = undefined;
          this.state.lastError = err instanceof Error ? err.message : String(err);
          this.state.lastErrorAt = new Date().toISOString();
          throw err;
        },
      )
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  status(): OffsiteStatus {
    this.countPending(this.remote);
    return { target: this.target, ...this.state };
  }

  /**
   * Where backup `<kind>/<id>` is, as far as the last listing knows: `both`, `s3`, or `local`
   * (also when it is nowhere: `local` is the caller's claim).
   */
  location(kind: string, id: string, local: boolean): 'local' | 's3' | 'both' {
    const remote = this.remote?.has(`${kind}/${id}/manifest.json`) ?? false;
    return remote ? (local ? 'both' : 's3') : 'local';
  }

  /** Deletes backup `<kind>/<id>` from the bucket (manifest first). */
  async deleteBackup(kind: string, id: string): Promise<void> {
    this.remote ??= await this.list();
    const prefix = `${kind}/${id}/`;
    await this.deleteKeys([`${prefix}manifest.json`]);
    await this.deleteKeys([...this.remote.keys()].filter((k) => k.startsWith(prefix)));
    if (kind === 'base') this.manifests.delete(id);
  }

  /** Base backups known only in the bucket (for listings). */
  remoteOnlyBackups(): BaseBackup[] {
    const local = new Set(listBackups(this.options.backupDir).map((b) => b.id));
    return [...this.manifests.values()].filter(
      (b) => !local.has(b.id) && this.remote?.has(`base/${b.id}/manifest.json`),
    );
  }

  /**
   * Every backup complete in the bucket (its manifest.json there), of every kind, as the bucket
   * lists it now (for `kiln backups`).
   */
  async bucketBackups(): Promise<
    { kind: string; id: string; finishedAt: string; sizeBytes: number }[]
  > {
    this.remote = await this.list();
    const out: { kind: string; id: string; finishedAt: string; sizeBytes: number }[] = [];
    for (const rel of this.remote.keys()) {
      const m = /^([a-z]+)\/([^/]+)\/manifest\.json$/.exec(rel);
      if (!m) continue;
      const [, kind, id] = m as unknown as [string, string, string];
      let manifest: { finishedAt: string; sizeBytes: number } | undefined =
        kind === 'base' ? this.manifests.get(id) : undefined;
      if (!manifest) {
        const body = await this.download(rel);
        if (!body) continue; // deleted meanwhile
        manifest = JSON.parse(body.toString('utf8')) as { finishedAt: string; sizeBytes: number };
      }
      out.push({ kind, id, finishedAt: manifest.finishedAt, sizeBytes: manifest.sizeBytes });
    }
    return out;
  }

  private async list(): Promise<Map<string, RemoteObject>> {
    const remote = new Map<string, RemoteObject>();
    // ListObjects (v1) with markers: every S3-compatible store pages it the same way.
    let marker: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsCommand({
          Bucket: this.options.s3.bucket,
          Prefix: this.options.s3.prefix,
          Marker: marker,
        }),
      );
      const contents = page.Contents ?? [];
      for (const o of contents) {
        if (!o.Key) continue;
        remote.set(o.Key.slice(this.options.s3.prefix.length), {
          size: o.Size ?? 0,
          etag: (o.ETag ?? '').replace(/"/g, ''),
        });
      }
      marker = page.IsTruncated ? (page.NextMarker ?? contents.at(-1)?.Key) : undefined;
    } while (marker);
    for (const rel of remote.keys()) {
      const m = /^base\/([^/]+)\/manifest\.json$/.exec(rel);
      if (m && !this.manifests.has(m[1]!)) {
        const body = await this.download(rel);
        if (body) this.manifests.set(m[1]!, JSON.parse(body.toString('utf8')) as BaseBackup);
      }
    }
    return remote;
  }

  private async download(rel: string): Promise<Buffer | undefined> {
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.options.s3.bucket, Key: this.key(rel) }),
      );
      return Buffer.from(await res.Body!.transformToByteArray());
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async downloadTo(rel: string, file: string, runAs: RunAs | undefined): Promise<void> {
    const body = await this.download(rel);
    if (!body) throw new Error(`${this.target}${rel} vanished during the restore`);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(`${file}.part`, body, { mode: 0o600 });
    if (runAs) fs.chownSync(`${file}.part`, runAs.uid, runAs.gid);
    fs.renameSync(`${file}.part`, file);
  }

  /** Uploads one file; false when it vanished locally meanwhile (pruned). */
  private async upload(rel: string, file: string): Promise<boolean> {
    const remote = this.remote!;
    const Bucket = this.options.s3.bucket;
    const Key = this.key(rel);
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      return false;
    }
    if (size <= SINGLE_PUT_MAX) {
      let body: Buffer;
      try {
        body = fs.readFileSync(file);
      } catch {
        return false;
      }
      const sum = md5(body);
      // Content-MD5: the store refuses a body that arrived different.
      await this.client.send(
        new PutObjectCommand({ Bucket, Key, Body: body, ContentMD5: sum.toString('base64') }),
      );
      remote.set(rel, { size: body.length, etag: sum.toString('hex') });
    } else {
      await new Upload({
        client: this.client,
        params: { Bucket, Key, Body: fs.createReadStream(file) },
        partSize: 16 * 1024 * 1024,
        queueSize: 2,
      }).done();
      remote.set(rel, { size, etag: '' });
    }
    this.state.lastUploadAt = new Date().toISOString();
    return true;
  }

  /** Uploads `rel` and checks the stored object's size against the file's. */
  private async uploadVerified(rel: string, file: string): Promise<void> {
    if (!(await this.upload(rel, file))) return;
    const head = await this.client.send(
      new HeadObjectCommand({ Bucket: this.options.s3.bucket, Key: this.key(rel) }),
    );
    const expected = this.remote!.get(rel)!.size;
    if (head.ContentLength !== expected) {
      this.remote!.delete(rel);
      throw new Error(`${rel}: the bucket holds ${head.ContentLength} bytes, expected ${expected}`);
    }
  }

  /** Streams backup directory `b` as a tar to `rel`; checks the stored size. False if gone. */
  private async uploadArchive(rel: string, b: BackupDir): Promise<boolean> {
    if (!fs.existsSync(b.dir)) return false;
    let bytes = 0;
    const counted = tarDirectory(b.dir, b.id).pipe(
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          bytes += chunk.length;
          done(null, chunk);
        },
      }),
    );
    await new Upload({
      client: this.client,
      params: { Bucket: this.options.s3.bucket, Key: this.key(rel), Body: counted },
      partSize: 16 * 1024 * 1024,
      queueSize: 2,
    }).done();
    const head = await this.client.send(
      new HeadObjectCommand({ Bucket: this.options.s3.bucket, Key: this.key(rel) }),
    );
    if (head.ContentLength !== bytes) {
      throw new Error(`${rel}: the bucket holds ${head.ContentLength} bytes, sent ${bytes}`);
    }
    this.remote!.set(rel, { size: bytes, etag: (head.ETag ?? '').replace(/"/g, '') });
    this.state.lastUploadAt = new Date().toISOString();
    return true;
  }

  private walFiles(): string[] {
    const wal = walDir(this.options.backupDir);
    if (!fs.existsSync(wal)) return [];
    return fs
      .readdirSync(wal, { withFileTypes: true })
      .filter((e) => e.isFile() && !TEMPORARY.test(e.name))
      .map((e) => e.name);
  }

  /** Finished backup directories of every kind: `<kind>/<id>/manifest.json` exists. */
  private backupDirs(): BackupDir[] {
    const root = this.options.backupDir;
    if (!fs.existsSync(root)) return [];
    const out: BackupDir[] = [];
    for (const kind of fs.readdirSync(root, { withFileTypes: true })) {
      if (!kind.isDirectory() || kind.name === 'wal' || kind.name.startsWith('.')) continue;
      const kindDir = path.join(root, kind.name);
      for (const id of fs.readdirSync(kindDir, { withFileTypes: true })) {
        if (!id.isDirectory() || TEMPORARY.test(id.name) || id.name.startsWith('.')) continue;
        const dir = path.join(kindDir, id.name);
        if (fs.existsSync(path.join(dir, 'manifest.json')))
          out.push({ kind: kind.name, id: id.name, dir });
      }
    }
    return out;
  }

  private manifestCurrent(b: BackupDir, remote: Map<string, RemoteObject>): boolean {
    const there = remote.get(`${b.kind}/${b.id}/manifest.json`);
    if (!there) return false;
    try {
      return there.etag === md5(fs.readFileSync(path.join(b.dir, 'manifest.json'))).toString('hex');
    } catch {
      return true; // removed meanwhile
    }
  }

  private countPending(remote: Map<string, RemoteObject> | undefined): {
    wal: string[];
    backups: BackupDir[];
  } {
    const wal = this.walFiles().filter((name) => {
      if (!remote) return true;
      const there = remote.get(`wal/${name}`);
      if (!there) return true;
      try {
        return there.size !== fs.statSync(path.join(walDir(this.options.backupDir), name)).size;
      } catch {
        return false;
      }
    });
    const backups = this.backupDirs().filter((b) => !remote || !this.manifestCurrent(b, remote));
    this.state.pendingWal = wal.length;
    this.state.pendingBackups = backups.length;
    return { wal, backups };
  }

  private async pass(): Promise<void> {
    this.remote ??= await this.list();
    const remote = this.remote;
    const pending = this.countPending(remote);
    const wal = walDir(this.options.backupDir);
    // WAL first, oldest first: it is what a restore past the last base backup depends on.
    for (const name of pending.wal.sort()) {
      await this.uploadVerified(`wal/${name}`, path.join(wal, name));
      this.state.pendingWal--;
    }
    for (const b of pending.backups) {
      // The directory as one tar object (multipart), then manifest.json: a manifest in the
      // bucket means the archive beside it is complete.
      const archive = `${b.kind}/${b.id}/${ARCHIVE}`;
      if (!remote.has(archive) && !(await this.uploadArchive(archive, b))) continue;
      const manifestFile = path.join(b.dir, 'manifest.json');
      if (await this.upload(`${b.kind}/${b.id}/manifest.json`, manifestFile)) {
        if (b.kind === 'base') {
          try {
            this.manifests.set(
              b.id,
              JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as BaseBackup,
            );
          } catch {
            /* removed meanwhile */
          }
        }
        this.options.logger?.info('backup copied off-site', {
          kind: b.kind,
          id: b.id,
          bytes: remote.get(archive)?.size,
          target: this.target,
        });
      }
      this.state.pendingBackups--;
    }
    await this.applyRetention(remote);
  }

  private async deleteKeys(rels: string[]): Promise<void> {
    await eachLimit(rels, CONCURRENCY, async (rel) => {
      await this.client.send(
        new DeleteObjectCommand({ Bucket: this.options.s3.bucket, Key: this.key(rel) }),
      );
      this.remote?.delete(rel);
    });
  }

  private async applyRetention(remote: Map<string, RemoteObject>): Promise<void> {
    // Backups of other kinds (logical dumps): the `retention` newest complete copies of each
    // kind stay (their ids are times, so they sort by age); they need no WAL.
    const others = new Map<string, string[]>();
    for (const rel of remote.keys()) {
      const m = /^([a-z]+)\/([^/]+)\/manifest\.json$/.exec(rel);
      if (!m || m[1] === 'base') continue;
      const ids = others.get(m[1]!) ?? [];
      ids.push(m[2]!);
      others.set(m[1]!, ids);
    }
    for (const [kind, ids] of others) {
      ids.sort();
      for (const id of ids.slice(0, Math.max(0, ids.length - this.options.retention))) {
        await this.deleteBackup(kind, id);
        this.options.logger?.info('off-site backup removed by retention', { kind, id });
      }
    }
    // Counted among the bucket's complete copies only: an old copy goes once a newer one is
    // complete there, not when a newer one merely exists locally.
    const all = [...this.manifests.values()]
      .filter((b) => remote.has(`base/${b.id}/manifest.json`))
      .sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
    const kept = all.slice(-this.options.retention);
    if (!kept.length) return;
    const keptIds = new Set(kept.map((b) => b.id));
    for (const b of all) {
      if (keptIds.has(b.id) || !remote.has(`base/${b.id}/manifest.json`)) continue;
      // The manifest first: a half-deleted backup never looks complete.
      await this.deleteBackup('base', b.id);
      this.options.logger?.info('off-site base backup removed by retention', { id: b.id });
    }
    const floor = kept[0]!.startWal.slice(8);
    const old = [...remote.keys()].filter((k) => {
      const name = k.slice(4);
      return k.startsWith('wal/') && SEGMENT.test(name) && name.slice(8) < floor;
    });
    if (old.length) await this.deleteKeys(old);
  }

  /** Unpacks archive `rel` (made by uploadArchive) into the directory `into`. */
  private async extract(rel: string, into: string): Promise<void> {
    const res = await this.client.send(
      new GetObjectCommand({ Bucket: this.options.s3.bucket, Key: this.key(rel) }),
    );
    // GNU tar: members are `<id>/…`; never writes outside `into` (no absolute or .. names).
    const tar = spawn('tar', ['-x', '-f', '-', '-C', into, '--strip-components=1'], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    tar.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => tar.on('close', resolve));
    await pipeline(res.Body as Readable, tar.stdin);
    const code = await exited;
    if (code !== 0) throw new Error(`unpacking ${this.target}${rel} failed: ${stderr.trim()}`);
  }

  /**
   * Makes BACKUP_DIR hold what a restore to `target` needs: the newest base backup finished
   * before it (downloaded when only the bucket has it) and every archived WAL file from that
   * backup's start on that is missing locally (plus timeline history files). Downloading the
   * range first, rather than a restore_command that calls S3, keeps credentials out of the
   * PostgreSQL server's settings and the replay at local-disk speed.
   */
  async fetchForRestore(target: Date, runAs: RunAs | undefined): Promise<void> {
    this.remote = await this.list();
    const remote = this.remote;
    const byId = new Map<string, BaseBackup>();
    for (const b of this.manifests.values())
      if (remote.has(`base/${b.id}/manifest.json`)) byId.set(b.id, b);
    const local = listBackups(this.options.backupDir);
    for (const b of local) byId.set(b.id, b);
    const usable = [...byId.values()]
      .filter((b) => new Date(b.finishedAt) < target)
      .sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
    const backup = usable.at(-1);
    if (!backup) return;
    const base = path.join(this.options.backupDir, 'base');
    fs.mkdirSync(base, { recursive: true, mode: 0o700 });
    if (!local.some((b) => b.id === backup.id)) {
      const staging = path.join(base, `${backup.id}.part`);
      fs.rmSync(staging, { recursive: true, force: true });
      fs.mkdirSync(staging, { mode: 0o700 });
      await this.extract(`base/${backup.id}/${ARCHIVE}`, staging);
      // The bucket's manifest is the latest (verification may have updated it after the archive).
      await this.downloadTo(
        `base/${backup.id}/manifest.json`,
        path.join(staging, 'manifest.json'),
        undefined,
      );
      fs.rmSync(path.join(base, backup.id), { recursive: true, force: true });
      fs.renameSync(staging, path.join(base, backup.id));
      this.options.logger?.info('base backup fetched from the off-site copy', { id: backup.id });
    }
    const wal = walDir(this.options.backupDir);
    fs.mkdirSync(wal, { recursive: true, mode: 0o700 });
    if (runAs) fs.chownSync(wal, runAs.uid, runAs.gid);
    const floor = backup.startWal.slice(8);
    const needed = [...remote.keys()].filter((k) => {
      if (!k.startsWith('wal/')) return false;
      const name = k.slice(4);
      if (name.includes('/') || TEMPORARY.test(name) || fs.existsSync(path.join(wal, name)))
        return false;
      return name.endsWith('.history') || name.slice(8, 24) >= floor;
    });
    await eachLimit(needed, CONCURRENCY, (k) =>
      this.downloadTo(k, path.join(wal, k.slice(4)), runAs),
    );
  }
}
