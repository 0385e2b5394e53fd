/**
 * Buckets and objects. Metadata rows in storage.objects (under RLS, read and written as the
 * caller) point at bytes the provider holds under a path Kiln picked for that version, so a new
 * version never overwrites the old bytes: write bytes → swap the row in a transaction → delete the
 * old bytes. A failure at any step leaves either the old object or the new one, never a mix.
 */
import crypto from 'node:crypto';
import contentDisposition from 'content-disposition';
import type { Readable } from 'node:stream';
import { fileTypeFromBuffer } from 'file-type';
import type { StoredFile } from '@kiln/shared-schemas';
import { lockFor, type Database, type Principal, type Tx } from '../core/db.js';
import { AppError } from '../core/errors.js';
import { PG, pgCode } from '../core/sql.js';
import type { Logger } from '../core/logger.js';
import type { ByteRange, StorageProvider } from './providers/provider.js';

export interface StorageOptions {
  /** Read on every use: tests and proxies may settle the public URL after start. */
  apiBaseUrl: () => string;
  maxFileSize: number;
  presignedUploadExpirySeconds: number;
  /** Bytes one signed-in user may store, all buckets together (0 = unlimited). */
  userQuotaBytes: number;
}

interface BucketRow {
  name: string;
  public: boolean;
  allowed_mime_types: string[] | null;
  max_file_size: string | null;
  allow_user_uploads: boolean;
  created_at: Date;
  updated_at: Date;
}

interface ObjectRow {
  bucket: string;
  key: string;
  storage_path: string;
  size: string;
  mime_type: string;
  etag: string;
  owner: string | null;
  created_at: Date;
  updated_at: Date;
}

const MAX_KEY_BYTES = 1024;

/** `s` matched literally inside a LIKE pattern (backslash is LIKE's default escape). */
function likeEscaped(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function objectNotFound(bucket: string, key: string): AppError {
  return new AppError(
    404,
    'STORAGE_NOT_FOUND',
    `Object "${key.slice(0, 200)}" not found in bucket "${bucket}"`,
  );
}

/** A valid object key, or a 400: no traversal, no absolute paths, no control characters. */
export function validateKey(key: string): string {
  const problem = (why: string) =>
    new AppError(400, 'STORAGE_INVALID_PARAMETER', `Invalid object key: ${why}`);
  if (!key) throw problem('it is empty');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES)
    throw problem(`it is longer than ${MAX_KEY_BYTES} bytes`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) throw problem('it contains control characters');
  if (key.startsWith('/') || key.startsWith('\\')) throw problem('it must not start with a slash');
  if (key.endsWith('/')) throw problem('it must not end with a slash');
  const segments = key.split(/[/\\]/);
  if (segments.some((s) => s === '..' || s === '.'))
    throw problem('"." and ".." segments are not allowed');
  if (segments.some((s) => s === '')) throw problem('it contains an empty path segment');
  return key;
}

function mimeAllowed(mime: string, allowed: string[] | null): boolean {
  if (!allowed || !allowed.length) return true;
  return allowed.some((pattern) =>
    pattern.endsWith('/*') ? mime.startsWith(pattern.slice(0, -1)) : mime === pattern,
  );
}

function newStoragePath(bucket: string): string {
  const id = crypto.randomUUID();
  return `${bucket}/${id.slice(0, 2)}/${id}`;
}

/**
 * Types a browser shows without running anything. Everything else (HTML, SVG, XML, scripts…)
 * is served as an attachment in a sandbox, so an uploaded page can never run script on Kiln's
 * origin, where the dashboard and the auth pages live.
 */
const INLINE_TYPES =
  /^(image\/(png|jpeg|gif|webp|avif|bmp|x-icon|vnd\.microsoft\.icon)|video\/[\w.+-]+|audio\/[\w.+-]+|font\/[\w.+-]+|text\/(plain|csv)|application\/(pdf|json|octet-stream))$/i;

export function servedInline(mimeType: string): boolean {
  return INLINE_TYPES.test(mimeType.split(';')[0]!.trim());
}

/**
 * `Content-Disposition` for a download, built by the `content-disposition` package (RFC 6266 /
 * 8187): the name as `filename*=UTF-8''…` whenever it is not plain ASCII, with an ASCII
 * fallback in `filename` (anything outside printable ASCII, quotes, backslashes and `%` become
 * `_`, since clients read those inconsistently in a quoted name).
 */
export function downloadDisposition(type: 'inline' | 'attachment', name: string): string {
  return contentDisposition(name, { type, fallback: name.replace(/[^\x20-\x7e]|["\\%]/g, '_') });
}

export class StorageService {
  constructor(
    private readonly db: Database,
    readonly provider: StorageProvider,
    private readonly options: StorageOptions,
    private readonly logger: Logger,
  ) {}

  /**
   * Hands the per-user quota to the database, whose policies enforce it (storage.settings, read
   * by storage.user_may_store()). Called at start.
   */
  async applySettings(): Promise<void> {
    await this.db.query('UPDATE storage.settings SET user_quota_bytes = $1', [
      this.options.userQuotaBytes || null,
    ]);
  }

  // ---- buckets (admin) ----------------------------------------------------------------------

  async listBuckets() {
    const { rows } = await this.db.query<BucketRow & { object_count: number; total_size: string }>(
      `SELECT b.*, (SELECT count(*)::int FROM storage.objects o WHERE o.bucket = b.name) AS object_count,
              (SELECT coalesce(sum(size), 0)::text FROM storage.objects o WHERE o.bucket = b.name) AS total_size
       FROM storage.buckets b ORDER BY b.name`,
    );
    return rows.map((r) => ({
      ...this.bucketJson(r),
      objectCount: r.object_count,
      totalSize: Number(r.total_size),
    }));
  }

  async getBucket(name: string): Promise<BucketRow> {
    const { rows } = await this.db.query<BucketRow>(
      'SELECT * FROM storage.buckets WHERE name = $1',
      [name],
    );
    if (!rows[0])
      throw new AppError(404, 'STORAGE_NOT_FOUND', `Bucket "${name.slice(0, 63)}" does not exist`);
    return rows[0];
  }

  async createBucket(input: {
    bucketName: string;
    isPublic: boolean;
    allowedMimeTypes?: string[] | null;
    maxFileSize?: number | null;
    allowUserUploads?: boolean;
  }) {
    try {
      const { rows } = await this.db.query<BucketRow>(
        'INSERT INTO storage.buckets (name, public, allowed_mime_types, max_file_size, allow_user_uploads) VALUES ($1, $2, $3, $4, $5) RETURNING *',
        [
          input.bucketName,
          input.isPublic,
          input.allowedMimeTypes ?? null,
          input.maxFileSize ?? null,
          input.allowUserUploads ?? false,
        ],
      );
      return this.bucketJson(rows[0]!);
    } catch (err) {
      if (pgCode(err) === PG.uniqueViolation) {
        throw new AppError(
          409,
          'STORAGE_ALREADY_EXISTS',
          `Bucket "${input.bucketName}" already exists`,
        );
      }
      throw err;
    }
  }

  async updateBucket(
    name: string,
    patch: {
      isPublic?: boolean;
      allowedMimeTypes?: string[] | null;
      maxFileSize?: number | null;
      allowUserUploads?: boolean;
    },
  ) {
    await this.getBucket(name);
    const { rows } = await this.db.query<BucketRow>(
      `UPDATE storage.buckets SET public = coalesce($2, public),
         allowed_mime_types = CASE WHEN $3 THEN $4 ELSE allowed_mime_types END,
         max_file_size = CASE WHEN $5 THEN $6 ELSE max_file_size END,
         allow_user_uploads = coalesce($7, allow_user_uploads)
       WHERE name = $1 RETURNING *`,
      [
        name,
        patch.isPublic ?? null,
        patch.allowedMimeTypes !== undefined,
        patch.allowedMimeTypes ?? null,
        patch.maxFileSize !== undefined,
        patch.maxFileSize ?? null,
        patch.allowUserUploads ?? null,
      ],
    );
    return this.bucketJson(rows[0]!);
  }

  async deleteBucket(name: string, force: boolean) {
    await this.getBucket(name);
    const paths = await this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ storage_path: string }>(
        'SELECT storage_path FROM storage.objects WHERE bucket = $1',
        [name],
      );
      if (rows.length && !force) {
        throw new AppError(
          409,
          'STORAGE_BUCKET_NOT_EMPTY',
          `Bucket "${name}" holds ${rows.length} object(s)`,
          'Delete the objects first, or pass ?force=true',
        );
      }
      await tx.query('DELETE FROM storage.objects WHERE bucket = $1', [name]);
      await tx.query('DELETE FROM storage.buckets WHERE name = $1', [name]);
      return rows.map((r) => r.storage_path);
    });
    this.discard(paths);
    return { message: `Bucket "${name}" deleted`, deletedObjects: paths.length };
  }

  private bucketJson(r: BucketRow) {
    return {
      name: r.name,
      isPublic: r.public,
      /** The same flag under InsForge's name for it (its storageBucketSchema). */
      public: r.public,
      allowedMimeTypes: r.allowed_mime_types,
      maxFileSize: r.max_file_size === null ? null : Number(r.max_file_size),
      allowUserUploads: r.allow_user_uploads,
      createdAt: r.created_at.toISOString(),
      updatedAt: r.updated_at.toISOString(),
    };
  }

  // ---- objects --------------------------------------------------------------------------------

  fileJson(
    row: Pick<ObjectRow, 'bucket' | 'key' | 'size' | 'mime_type' | 'updated_at'>,
  ): StoredFile {
    return {
      key: row.key,
      bucket: row.bucket,
      size: Number(row.size),
      mimeType: row.mime_type,
      uploadedAt: row.updated_at.toISOString(),
      url: this.objectUrl(row.bucket, row.key),
    };
  }

  objectUrl(bucket: string, key: string): string {
    return `${this.options.apiBaseUrl()}/api/storage/buckets/${encodeURIComponent(bucket)}/objects/${encodeURIComponent(key)}`;
  }

  /** Limits that apply to an upload into `bucket`. */
  async uploadLimits(bucket: string) {
    const b = await this.getBucket(bucket);
    const bucketMax = b.max_file_size === null ? Infinity : Number(b.max_file_size);
    return { bucket: b, maxSize: Math.min(this.options.maxFileSize, bucketMax) };
  }

  /**
   * Streams an upload to the provider, then records it as the caller (RLS decides). Nothing is
   * recorded before `ready` resolves (the rest of the request body arrived intact).
   */
  async upload(
    principal: Principal,
    bucketName: string,
    key: string,
    body: Readable,
    declaredType: string | undefined,
    ready: Promise<void> = Promise.resolve(),
  ): Promise<StoredFile> {
    validateKey(key);
    const { bucket } = await this.uploadLimits(bucketName);
    if (principal.role === 'anon') {
      throw new AppError(
        401,
        'STORAGE_PERMISSION_DENIED',
        'Sign in to upload files',
        'Send a user access token or the API key',
      );
    }
    // Refused before the bytes are read; the objects policy is what enforces it.
    this.assertUserUploads(principal, bucket);
    const path = newStoragePath(bucket.name);
    const stored = await this.provider.put(path, body, declaredType ?? 'application/octet-stream');
    try {
      await ready;
      if (stored.size === 0)
        throw new AppError(400, 'STORAGE_INVALID_PARAMETER', 'The file is empty');
      // The client did not say what it is: sniff the first bytes of what was stored.
      const mimeType =
        declaredType && declaredType !== 'application/octet-stream'
          ? declaredType
          : await this.sniff(path, stored.size);
      if (!mimeAllowed(mimeType, bucket.allowed_mime_types)) {
        throw new AppError(
          400,
          'STORAGE_INVALID_FILE_TYPE',
          `"${mimeType}" is not allowed in bucket "${bucket.name}" (${bucket.allowed_mime_types!.join(', ')})`,
        );
      }
      return await this.record(
        principal,
        bucket.name,
        key,
        path,
        stored.size,
        mimeType,
        stored.etag,
      );
    } catch (err) {
      await this.deleteBytes([path]);
      throw err;
    }
  }

  /**
   * A signed-in user uploads only into buckets that take user uploads (admins anywhere). An
   * early, friendly answer: storage.user_may_store() in the objects policy is the gate.
   */
  private assertUserUploads(principal: Principal, bucket: BucketRow): void {
    if (principal.role !== 'authenticated' || bucket.allow_user_uploads) return;
    throw new AppError(
      403,
      'STORAGE_PERMISSION_DENIED',
      `Bucket "${bucket.name}" does not take uploads from signed-in users`,
      `An admin can allow them: PATCH /api/storage/buckets/${bucket.name} {"allowUserUploads": true}; or upload from the server with the API key`,
    );
  }

  /**
   * Bytes the signed-in caller may still store as (bucket, key), the version it would replace
   * not counted (Infinity for admins or without a quota). For an early 413 before an upload is
   * read; the objects policy enforces the quota itself.
   */
  async quotaLeft(principal: Principal, bucket: string, key: string | undefined): Promise<number> {
    const quota = this.options.userQuotaBytes;
    if (principal.role !== 'authenticated' || !quota) return Infinity;
    const used = await this.db.withPrincipal(
      principal,
      async (tx) =>
        (
          await tx.query<{ used: string }>(
            `SELECT coalesce(sum(size), 0)::text AS used FROM storage.objects
              WHERE owner = auth.uid() AND NOT (bucket = $1 AND key IS NOT DISTINCT FROM $2)`,
            [bucket, key ?? null],
          )
        ).rows[0]!.used,
      { readOnly: true },
    );
    return Math.max(0, quota - Number(used));
  }

  /** Upserts the metadata row for new bytes and deletes the bytes it replaced. */
  private async record(
    principal: Principal,
    bucket: string,
    key: string,
    path: string,
    size: number,
    mimeType: string,
    etag: string,
  ) {
    const row = await this.db
      .withPrincipal(principal, async (tx) => {
        // One writer per key at a time, even while the row does not exist yet (FOR UPDATE locks
        // nothing then, and two first uploads would each leave the other's bytes behind).
        await lockFor(tx, `storage:${bucket}/${key}`);
        // Lock and remember the version being replaced (visible only if the caller may see it).
        const previous = await tx.query<{ storage_path: string }>(
          'SELECT storage_path FROM storage.objects WHERE bucket = $1 AND key = $2 FOR UPDATE',
          [bucket, key],
        );
        const { rows } = await tx.query<ObjectRow>(
          `INSERT INTO storage.objects AS o (bucket, key, storage_path, size, mime_type, etag, owner)
         VALUES ($1, $2, $3, $4, $5, $6, auth.uid())
         ON CONFLICT (bucket, key) DO UPDATE SET storage_path = EXCLUDED.storage_path, size = EXCLUDED.size,
           mime_type = EXCLUDED.mime_type, etag = EXCLUDED.etag, updated_at = now()
         RETURNING o.*`,
          [bucket, key, path, size, mimeType, etag],
        );
        return { ...rows[0]!, previous_path: previous.rows[0]?.storage_path ?? null };
      })
      .catch((err: unknown) => {
        const code = pgCode(err);
        if (code === PG.insufficientPrivilege) {
          throw new AppError(
            403,
            'STORAGE_PERMISSION_DENIED',
            `You may not write "${key.slice(0, 200)}" in bucket "${bucket}"`,
          );
        }
        // Raised by storage.user_may_store(): the caller's objects would pass the quota.
        if (code === PG.configurationLimitExceeded) {
          throw new AppError(
            413,
            'STORAGE_INSUFFICIENT_QUOTA',
            (err as Error).message,
            'Delete files you no longer need, or ask an admin to raise STORAGE_USER_QUOTA_BYTES',
          );
        }
        throw err;
      });
    if (row.previous_path && row.previous_path !== path) this.discard([row.previous_path]);
    return this.fileJson(row);
  }

  /** The object row visible to the caller, or a 404 (existence is not revealed). */
  private async visible(tx: Tx, bucket: string, key: string): Promise<ObjectRow> {
    const { rows } = await tx.query<ObjectRow>(
      'SELECT * FROM storage.objects WHERE bucket = $1 AND key = $2',
      [bucket, key],
    );
    if (!rows[0]) throw objectNotFound(bucket, key);
    return rows[0];
  }

  /** Finds the object for a download: by signed token, or as the caller under RLS. */
  async findForDownload(
    principal: Principal,
    bucket: string,
    key: string,
    token: string | undefined,
  ): Promise<ObjectRow & { public: boolean }> {
    validateKey(key);
    const b = await this.getBucket(bucket);
    if (token !== undefined) {
      // A token signs one version of the object: once it is replaced or deleted (and perhaps
      // the key reused by someone else), the URL stops working.
      const { rows } = await this.db.query<ObjectRow>(
        'SELECT * FROM storage.objects WHERE bucket = $1 AND key = $2',
        [bucket, key],
      );
      if (
        !rows[0] ||
        !this.provider.tokenGrants({ bucket, key, path: rows[0].storage_path }, token)
      ) {
        throw new AppError(
          403,
          'STORAGE_PERMISSION_DENIED',
          'The signed URL is invalid, has expired, or its file was replaced',
          'Ask for a new one with createSignedUrl()',
        );
      }
      return { ...rows[0], public: b.public };
    }
    const row = await this.db.withPrincipal(principal, (tx) => this.visible(tx, bucket, key), {
      readOnly: true,
    });
    return { ...row, public: b.public };
  }

  async list(
    principal: Principal,
    bucket: string,
    q: { prefix?: string; search?: string; delimiter?: string; limit: number; offset: number },
  ) {
    await this.getBucket(bucket);
    if (q.delimiter) return this.listFolder(principal, bucket, { ...q, delimiter: q.delimiter });
    const params: unknown[] = [bucket];
    let where = 'bucket = $1';
    if (q.prefix) {
      params.push(`${likeEscaped(q.prefix)}%`);
      where += ` AND key LIKE $${params.length}`;
    }
    if (q.search) {
      params.push(`%${likeEscaped(q.search)}%`);
      where += ` AND key ILIKE $${params.length}`;
    }
    return this.db.withPrincipal(
      principal,
      async (tx) => {
        const [list, count] = await Promise.all([
          tx.query<ObjectRow>(
            `SELECT * FROM storage.objects WHERE ${where} ORDER BY key LIMIT ${q.limit} OFFSET ${q.offset}`,
            params,
          ),
          tx.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM storage.objects WHERE ${where}`,
            params,
          ),
        ]);
        const files = list.rows.map((r) => this.fileJson(r));
        // `data` per the contract's list shape; `objects` is what @insforge/sdk's types name it.
        return {
          data: files,
          objects: files,
          pagination: { offset: q.offset, limit: q.limit, total: count.rows[0]!.n },
        };
      },
      { readOnly: true },
    );
  }

  /**
   * One level of the key tree, as S3 lists with a delimiter: the objects directly under `prefix`
   * and the folders below it (`prefix` + the key's next part + the delimiter), folders first,
   * each in byte order, paged together. Only what the caller may read counts (RLS), so a folder
   * holding nobody's visible keys does not appear. `search` narrows the keys before grouping.
   */
  private async listFolder(
    principal: Principal,
    bucket: string,
    q: { prefix?: string; search?: string; delimiter: string; limit: number; offset: number },
  ) {
    const prefix = q.prefix ?? '';
    const params: unknown[] = [bucket, prefix, q.delimiter, `${likeEscaped(prefix)}%`];
    let where = 'bucket = $1 AND key LIKE $4';
    if (q.search) {
      params.push(`%${likeEscaped(q.search)}%`);
      where += ` AND key ILIKE $${params.length}`;
    }
    const entries = `
      WITH matched AS (
        SELECT key, substr(key, char_length($2::text) + 1) AS rest
          FROM storage.objects WHERE ${where}
      )
      SELECT DISTINCT $2::text || split_part(rest, $3::text, 1) || $3::text AS folder,
             NULL::text AS key
        FROM matched WHERE strpos(rest, $3::text) > 0
      UNION ALL
      SELECT NULL, key FROM matched WHERE strpos(rest, $3::text) = 0`;
    return this.db.withPrincipal(
      principal,
      async (tx) => {
        const [page, count] = await Promise.all([
          tx.query<{ folder: string | null } & Partial<ObjectRow>>(
            `SELECT e.folder, o.*
               FROM (${entries}) e
               LEFT JOIN storage.objects o ON o.bucket = $1 AND o.key = e.key
              ORDER BY e.folder IS NULL, coalesce(e.folder, e.key) COLLATE "C"
              LIMIT ${q.limit} OFFSET ${q.offset}`,
            params,
          ),
          tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${entries}) e`, params),
        ]);
        const prefixes: string[] = [];
        const files = [];
        for (const row of page.rows) {
          if (row.folder !== null) prefixes.push(row.folder);
          else files.push(this.fileJson(row as ObjectRow));
        }
        return {
          data: files,
          objects: files,
          prefixes,
          pagination: { offset: q.offset, limit: q.limit, total: count.rows[0]!.n },
        };
      },
      { readOnly: true },
    );
  }

  async remove(principal: Principal, bucket: string, key: string) {
    validateKey(key);
    await this.getBucket(bucket);
    const path = await this.db.withPrincipal(principal, async (tx) => {
      const { rows } = await tx.query<{ storage_path: string }>(
        'DELETE FROM storage.objects WHERE bucket = $1 AND key = $2 RETURNING storage_path',
        [bucket, key],
      );
      if (!rows[0]) throw objectNotFound(bucket, key);
      return rows[0].storage_path;
    });
    this.discard([path]);
    return { message: 'Object deleted', key, bucket };
  }

  async removeMany(principal: Principal, bucket: string, keys: string[]) {
    await this.getBucket(bucket);
    const results: Array<{
      key: string;
      status: 'deleted' | 'notFound' | 'failed';
      message?: string;
    }> = [];
    const valid: string[] = [];
    for (const key of keys) {
      try {
        valid.push(validateKey(key));
      } catch (err) {
        results.push({ key, status: 'failed', message: (err as Error).message });
      }
    }
    const deleted = await this.db.withPrincipal(principal, async (tx) => {
      const { rows } = await tx.query<{ key: string; storage_path: string }>(
        'DELETE FROM storage.objects WHERE bucket = $1 AND key = ANY($2::text[]) RETURNING key, storage_path',
        [bucket, valid],
      );
      return rows;
    });
    const gone = new Map(deleted.map((r) => [r.key, r.storage_path]));
    for (const key of valid) {
      results.push(
        gone.has(key)
          ? { key, status: 'deleted' }
          : { key, status: 'notFound', message: 'No such object (or not yours)' },
      );
    }
    this.discard([...gone.values()]);
    return { results };
  }

  // ---- strategies -----------------------------------------------------------------------------

  async uploadStrategy(
    principal: Principal,
    bucket: string,
    input: { filename: string; contentType?: string; size?: number },
  ) {
    const key = validateKey(input.filename);
    const { bucket: b, maxSize } = await this.uploadLimits(bucket);
    if (input.size !== undefined && input.size > maxSize) {
      throw new AppError(
        413,
        'STORAGE_INSUFFICIENT_QUOTA',
        `The file is ${input.size} bytes; the limit is ${maxSize}`,
      );
    }
    const contentType = input.contentType || 'application/octet-stream';
    // application/octet-stream says "unknown" (what clients send for an untyped file): the
    // bytes are sniffed and checked when the upload is confirmed.
    if (
      contentType !== 'application/octet-stream' &&
      !mimeAllowed(contentType, b.allowed_mime_types)
    ) {
      throw new AppError(
        400,
        'STORAGE_INVALID_FILE_TYPE',
        `"${contentType}" is not allowed in bucket "${bucket}"`,
      );
    }
    if (principal.role === 'anon')
      throw new AppError(401, 'STORAGE_PERMISSION_DENIED', 'Sign in to upload files');
    this.assertUserUploads(principal, b);
    const left = await this.quotaLeft(principal, bucket, key);
    if ((input.size ?? 1) > left) {
      throw new AppError(
        413,
        'STORAGE_INSUFFICIENT_QUOTA',
        input.size === undefined
          ? 'Your storage quota is used up'
          : `The file is ${input.size} bytes; your storage quota leaves room for ${left}`,
        'Delete files you no longer need, or ask an admin to raise STORAGE_USER_QUOTA_BYTES',
      );
    }
    const path = newStoragePath(bucket);
    const expiresIn = this.options.presignedUploadExpirySeconds;
    // The upload URL takes no more than the declared size, the bucket's limit and what the
    // caller's quota leaves: bytes beyond what could ever be confirmed never reach the store.
    const bound = Math.min(maxSize, left, input.size ?? Infinity);
    const target = await this.provider.uploadTarget(path, contentType, bound, expiresIn);
    if (target.method === 'direct') {
      return {
        method: 'direct' as const,
        uploadUrl: this.objectUrl(bucket, key),
        key,
        confirmRequired: false as const,
      };
    }
    const expiresAt = new Date(Date.now() + expiresIn * 1000);
    await this.db.withPrincipal(principal, (tx) =>
      tx.query(
        `INSERT INTO storage.pending_uploads (storage_path, bucket, key, owner, content_type, max_size, expires_at) VALUES ($1, $2, $3, auth.uid(), $4, $5, $6)`,
        [path, bucket, key, contentType, bound, expiresAt],
      ),
    );
    return {
      method: 'presigned' as const,
      uploadUrl: target.url,
      fields: target.fields,
      key,
      confirmRequired: true as const,
      confirmUrl: `${this.objectUrl(bucket, key)}/confirm-upload`,
      expiresAt: expiresAt.toISOString(),
    };
  }

  /** After a presigned POST: checks the bytes arrived and records the object. */
  /**
   * `size`: what the client says it sent (the SDK always says). Only an upload of exactly that
   * size is claimed, so a confirm never takes bytes still being written to a store that shows
   * objects before they are complete (s3rver, some S3-compatible servers).
   */
  async confirmUpload(principal: Principal, bucket: string, key: string, size?: number) {
    validateKey(key);
    const b = await this.getBucket(bucket);
    // Pending uploads of this key, newest first. A confirm claims the newest one whose bytes
    // arrived (so a confirm that comes too early can be repeated, and confirms racing for one
    // key each record a different upload instead of leaving bytes nobody refers to).
    const pending = await this.db.withPrincipal(principal, async (tx) => {
      const { rows } = await tx.query<{ storage_path: string; content_type: string }>(
        `SELECT storage_path, content_type FROM storage.pending_uploads
          WHERE bucket = $1 AND key = $2 AND expires_at > now() ORDER BY expires_at DESC LIMIT 20`,
        [bucket, key],
      );
      return rows;
    });
    if (!pending.length)
      throw new AppError(
        404,
        'STORAGE_NOT_FOUND',
        `No pending upload of "${key.slice(0, 200)}" in bucket "${bucket}"`,
        'Ask for an upload strategy first',
      );
    for (const candidate of pending) {
      const stored = await this.provider.head(candidate.storage_path);
      if (!stored || (size !== undefined && stored.size !== size)) continue;
      const claimed = await this.db.query(
        'DELETE FROM storage.pending_uploads WHERE storage_path = $1',
        [candidate.storage_path],
      );
      if (claimed.rowCount !== 1) continue;
      try {
        if (stored.size === 0)
          throw new AppError(400, 'STORAGE_INVALID_PARAMETER', 'The file is empty');
        const mimeType =
          candidate.content_type === 'application/octet-stream'
            ? await this.sniff(candidate.storage_path, stored.size)
            : candidate.content_type;
        if (!mimeAllowed(mimeType, b.allowed_mime_types)) {
          throw new AppError(
            400,
            'STORAGE_INVALID_FILE_TYPE',
            `"${mimeType}" is not allowed in bucket "${bucket}" (${b.allowed_mime_types!.join(', ')})`,
          );
        }
        return await this.record(
          principal,
          bucket,
          key,
          candidate.storage_path,
          stored.size,
          mimeType,
          stored.etag,
        );
      } catch (err) {
        await this.deleteBytes([candidate.storage_path]);
        throw err;
      }
    }
    throw new AppError(
      400,
      'STORAGE_INVALID_PARAMETER',
      'The file was not uploaded yet (or the upload URL expired)',
      'Send the file to the upload URL first, then confirm again',
    );
  }

  async downloadStrategy(principal: Principal, bucket: string, key: string, expiresIn: number) {
    const row = await this.findForDownload(principal, bucket, key, undefined);
    const link = await this.provider.downloadUrl(
      {
        bucket,
        key,
        path: row.storage_path,
        public: row.public,
        objectUrl: this.objectUrl(bucket, key),
        filename: key.split('/').pop()!,
        contentType: row.mime_type,
      },
      expiresIn,
    );
    return {
      method: link.method,
      url: link.url,
      expiresAt: link.expiresAt ? link.expiresAt.toISOString() : null,
    };
  }

  /** The object's bytes (or a range); a 404 when that version is gone. */
  async openBytes(
    row: Pick<ObjectRow, 'storage_path' | 'key'>,
    range?: ByteRange,
  ): Promise<Readable> {
    const stream = await this.provider.get(row.storage_path, range);
    // The version read a moment ago was replaced or deleted since (its bytes go after the row).
    if (!stream)
      throw new AppError(
        404,
        'STORAGE_NOT_FOUND',
        `"${row.key.slice(0, 200)}" changed while it was being read`,
        'Request it again',
      );
    return stream;
  }

  /** The type the first bytes reveal (file-type), or application/octet-stream. */
  private async sniff(path: string, size: number): Promise<string> {
    const head = await streamToBuffer(
      await this.openBytes(
        { storage_path: path, key: path },
        {
          start: 0,
          end: Math.min(4099, size - 1),
        },
      ),
    );
    return (await fileTypeFromBuffer(head))?.mime ?? 'application/octet-stream';
  }

  // ---- housekeeping ---------------------------------------------------------------------------

  private readonly discarding = new Set<Promise<void>>();

  /**
   * Deletes bytes the metadata no longer refers to without holding up the response (freeing a
   * 1 GiB file takes ~0.2 s). close() waits for these; the sweep catches any a crash interrupts.
   */
  private discard(paths: string[]): void {
    if (!paths.length) return;
    const done: Promise<void> = this.deleteBytes(paths).finally(() => this.discarding.delete(done));
    this.discarding.add(done);
  }

  /** Resolves once every deletion started by discard() has finished. */
  async settled(): Promise<void> {
    await Promise.all([...this.discarding]);
  }

  private async deleteBytes(paths: string[]): Promise<void> {
    for (const p of paths) {
      await this.provider.delete(p).catch((err: unknown) => {
        // The sweep removes it later.
        this.logger.warn('could not delete stored bytes', { path: p, error: String(err) });
      });
    }
  }

  /**
   * Deletes bytes nothing refers to (interrupted uploads, deletes that failed half-way) and
   * expired presigned uploads. `minAgeMs` protects uploads in flight on other instances.
   */
  async sweep(minAgeMs: number): Promise<number> {
    await this.db.query('DELETE FROM storage.pending_uploads WHERE expires_at < now()');
    const referenced = new Set<string>();
    const { rows } = await this.db.query<{ p: string }>(
      'SELECT storage_path AS p FROM storage.objects UNION ALL SELECT storage_path FROM storage.pending_uploads',
    );
    for (const r of rows) referenced.add(r.p);
    let removed = 0;
    const cutoff = Date.now() - minAgeMs;
    for await (const item of this.provider.list()) {
      if (referenced.has(item.path) || item.modifiedAt.getTime() > cutoff) continue;
      await this.provider.delete(item.path).catch(() => undefined);
      removed++;
    }
    if (removed) this.logger.info('storage sweep removed orphaned bytes', { removed });
    return removed;
  }
}

async function streamToBuffer(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
