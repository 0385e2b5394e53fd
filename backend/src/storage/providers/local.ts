import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type {
  ByteRange,
  DownloadRequest,
  DownloadUrl,
  ObjectVersion,
  StorageProvider,
  StoredBytes,
  UploadTarget,
} from './provider.js';

/** Stored bytes are Kiln's alone: files 0600, folders 0700, whatever the process umask. */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

const PATH = /^([a-z0-9][a-z0-9._-]{0,62}\/[0-9a-f]{2}|\.tmp)\/[0-9a-f-]{36}$/;

/**
 * Files under DATA_DIR/storage. Uploads stream into `.tmp/` and are renamed into place once
 * complete (rename is atomic on one file system), so a crash never leaves a half file visible.
 * Clients upload and download through Kiln; a private object's download URL is Kiln's own, signed
 * with a key derived from `signingSecret` for one version of the object.
 */
export class LocalStorageProvider implements StorageProvider {
  /** DATA_DIR belongs to this process alone: whatever is unreferenced at start is an orphan. */
  readonly startSweepGraceMs = 0;
  private readonly tmp: string;
  private readonly signingKey: Buffer;

  constructor(
    private readonly root: string,
    signingSecret: string,
  ) {
    this.tmp = path.join(root, '.tmp');
    fs.mkdirSync(this.tmp, { recursive: true, mode: DIR_MODE });
    this.signingKey = Buffer.from(
      crypto.hkdfSync('sha256', signingSecret, 'kiln', 'kiln-storage-url-v1', 32),
    );
  }

  /** Uploads go through Kiln (a PUT to the object's URL). */
  async uploadTarget(): Promise<UploadTarget> {
    return { method: 'direct' };
  }

  /**
   * Kiln's own URL: as it is for a public object (it does not expire), signed for `expiresIn`
   * otherwise. The signature covers the version, so replacing the object ends the URL.
   */
  async downloadUrl(object: DownloadRequest, expiresInSeconds: number): Promise<DownloadUrl> {
    if (object.public) return { method: 'direct', url: object.objectUrl, expiresAt: null };
    const expires = Math.floor(Date.now() / 1000) + expiresInSeconds;
    return {
      method: 'direct',
      url: `${object.objectUrl}?token=${expires}.${this.sign(object, expires)}`,
      expiresAt: new Date(expires * 1000),
    };
  }

  tokenGrants(version: ObjectVersion, token: string): boolean {
    const m = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return false;
    const expires = Number(m[1]);
    if (expires * 1000 < Date.now()) return false;
    const expected = Buffer.from(this.sign(version, expires));
    const given = Buffer.from(m[2]!);
    return expected.length === given.length && crypto.timingSafeEqual(expected, given);
  }

  private sign(version: ObjectVersion, expires: number): string {
    return crypto
      .createHmac('sha256', this.signingKey)
      .update(`${version.bucket}\n${version.key}\n${version.path}\n${expires}`)
      .digest('base64url');
  }

  /** Maps a storage path to a file, refusing anything that is not Kiln's own path shape. */
  private file(storagePath: string): string {
    if (!PATH.test(storagePath)) throw new Error(`invalid storage path ${storagePath}`);
    const file = path.resolve(this.root, storagePath);
    if (!file.startsWith(this.root + path.sep)) throw new Error('storage path escapes the root');
    return file;
  }

  async put(storagePath: string, body: Readable): Promise<StoredBytes> {
    const target = this.file(storagePath);
    const temp = path.join(this.tmp, crypto.randomUUID());
    // A deep write buffer lets the stream gather the socket's 64 KiB chunks into one writev while
    // the previous write is in flight: a thread-pool round trip per chunk halves the throughput
    // of a large upload.
    const out = fs.createWriteStream(temp, {
      flags: 'wx',
      mode: FILE_MODE,
      highWaterMark: 1024 * 1024,
    });
    try {
      await pipeline(body, out);
      await fs.promises.mkdir(path.dirname(target), { recursive: true, mode: DIR_MODE });
      await fs.promises.rename(temp, target);
    } catch (err) {
      await fs.promises.rm(temp, { force: true });
      throw err;
    }
    // Each version has its own path, so the path's id is a strong validator: no hashing needed.
    return { size: out.bytesWritten, etag: path.basename(storagePath) };
  }

  async get(storagePath: string, range?: ByteRange): Promise<Readable | undefined> {
    const file = this.file(storagePath);
    const stream = fs.createReadStream(file, {
      highWaterMark: 256 * 1024,
      ...(range ? { start: range.start, end: range.end } : {}),
    });
    try {
      // Opened before it is handed out, so a missing file is an answer, not a broken response.
      await once(stream, 'ready');
      return stream;
    } catch (err) {
      stream.destroy();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async head(storagePath: string): Promise<StoredBytes | undefined> {
    try {
      const stat = await fs.promises.stat(this.file(storagePath));
      return { size: stat.size, etag: '' };
    } catch {
      return undefined;
    }
  }

  async delete(storagePath: string): Promise<void> {
    await fs.promises.rm(this.file(storagePath), { force: true });
  }

  async *list(): AsyncIterable<{ path: string; modifiedAt: Date }> {
    // Leftovers of interrupted uploads count as stored paths too (they are never referenced).
    for (const entry of await fs.promises.readdir(this.tmp)) {
      const stat = await fs.promises.stat(path.join(this.tmp, entry)).catch(() => undefined);
      if (stat) yield { path: `.tmp/${entry}`, modifiedAt: stat.mtime };
    }
    for (const bucket of await fs.promises.readdir(this.root)) {
      if (bucket === '.tmp') continue;
      const bucketDir = path.join(this.root, bucket);
      if (!(await fs.promises.stat(bucketDir)).isDirectory()) continue;
      for (const shard of await fs.promises.readdir(bucketDir)) {
        for (const name of await fs.promises.readdir(path.join(bucketDir, shard))) {
          const stat = await fs.promises
            .stat(path.join(bucketDir, shard, name))
            .catch(() => undefined);
          if (stat) yield { path: `${bucket}/${shard}/${name}`, modifiedAt: stat.mtime };
        }
      }
    }
  }
}
