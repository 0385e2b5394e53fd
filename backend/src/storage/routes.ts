import { Router, type Request, type Response } from 'express';
import { pipeline } from 'node:stream/promises';
import {
  createBucketRequestSchema,
  deleteObjectsRequestSchema,
  downloadStrategyQuerySchema,
  listObjectsQuerySchema,
  updateBucketRequestSchema,
  uploadStrategyRequestSchema,
} from '@kiln/shared-schemas';
import type { Principal } from '../core/db.js';
import { AppError } from '../core/errors.js';
import { readMultipart } from '../core/multipart.js';
import { principalOf, requireAdmin } from '../core/auth/principal.js';
import type { ByteRange } from './providers/provider.js';
import { contentDisposition, parseRange, servedInline, type StorageService } from './service.js';

const ANON: Principal = { role: 'anon', credential: 'anon_key', claims: { role: 'anon' } };

/** The caller, or anon when no credential was sent (public buckets are readable by anyone). */
function callerOrAnon(req: Request): Principal {
  return req.auth.kind === 'none' ? ANON : principalOf(req);
}

/** The object key from `/objects/<key...>`: the SDK sends it URL-encoded as one segment. */
function keyOf(req: Request, strip?: string): string {
  const raw = req.params.key as unknown as string[] | string;
  const parts = Array.isArray(raw) ? [...raw] : [raw];
  if (strip && parts[parts.length - 1] === strip) parts.pop();
  return parts.join('/');
}

function generatedKey(filename: string): string {
  const dot = filename.lastIndexOf('.');
  const ext =
    dot > 0
      ? filename
          .slice(dot)
          .replace(/[^a-zA-Z0-9.]/g, '')
          .slice(0, 16)
      : '';
  const base =
    (dot > 0 ? filename.slice(0, dot) : filename).replace(/[^a-zA-Z0-9-_]/g, '-').slice(0, 32) ||
    'file';
  return `${base}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}${ext}`;
}

export function storageRoutes(storage: StorageService): Router {
  const router = Router();

  // ---- buckets (admin) ----------------------------------------------------------------------
  router.get('/buckets', requireAdmin, async (_req, res) => {
    res.json(await storage.listBuckets());
  });
  router.post('/buckets', requireAdmin, async (req, res) => {
    res.status(201).json(await storage.createBucket(createBucketRequestSchema.parse(req.body)));
  });
  router.patch('/buckets/:bucket', requireAdmin, async (req, res) => {
    res.json(
      await storage.updateBucket(
        String(req.params.bucket),
        updateBucketRequestSchema.parse(req.body),
      ),
    );
  });
  router.delete('/buckets/:bucket', requireAdmin, async (req, res) => {
    res.json(await storage.deleteBucket(String(req.params.bucket), req.query.force === 'true'));
  });

  // ---- objects ---------------------------------------------------------------------------------
  const upload = async (
    req: Request,
    res: Response,
    key: string | ((filename: string) => string),
  ) => {
    const principal = principalOf(req);
    const bucket = String(req.params.bucket);
    const { maxSize } = await storage.uploadLimits(bucket);
    // Refuse an oversized body before reading it (multipart adds a little framing).
    const declared = Number(req.get('content-length') ?? 0);
    if (declared > maxSize + 64 * 1024) {
      throw new AppError(
        413,
        'STORAGE_INSUFFICIENT_QUOTA',
        `The file is larger than the ${maxSize}-byte limit`,
      );
    }
    const left = await storage.quotaLeft(
      principal,
      bucket,
      typeof key === 'string' ? key : undefined,
    );
    if (declared > left + 64 * 1024) {
      throw new AppError(
        413,
        'STORAGE_INSUFFICIENT_QUOTA',
        `The file is larger than what your storage quota leaves (${left} bytes)`,
        'Delete files you no longer need, or ask an admin to raise STORAGE_USER_QUOTA_BYTES',
      );
    }
    const { result } = await readMultipart(req, maxSize, (file, info, _fields, bodyComplete) => {
      const objectKey = typeof key === 'string' ? key : key(info.filename);
      const declaredType =
        info.mimeType && info.mimeType !== 'application/octet-stream' ? info.mimeType : undefined;
      return storage.upload(principal, bucket, objectKey, file, declaredType, bodyComplete);
    });
    res.status(201).json(result);
  };

  router.get('/buckets/:bucket/objects', async (req, res) => {
    res.json(
      await storage.list(
        callerOrAnon(req),
        String(req.params.bucket),
        listObjectsQuerySchema.parse(req.query),
      ),
    );
  });
  router.post('/buckets/:bucket/objects', async (req, res) => {
    await upload(req, res, generatedKey);
  });
  router.delete('/buckets/:bucket/objects', async (req, res) => {
    const body = deleteObjectsRequestSchema.parse(req.body);
    res.json(await storage.removeMany(principalOf(req), String(req.params.bucket), body.keys));
  });

  router.post('/buckets/:bucket/upload-strategy', async (req, res) => {
    res.json(
      await storage.uploadStrategy(
        principalOf(req),
        String(req.params.bucket),
        uploadStrategyRequestSchema.parse(req.body),
      ),
    );
  });
  router.get('/buckets/:bucket/download-strategy/objects/*key', async (req, res) => {
    const { expiresIn } = downloadStrategyQuerySchema.parse(req.query);
    res.json(
      await storage.downloadStrategy(
        callerOrAnon(req),
        String(req.params.bucket),
        keyOf(req),
        expiresIn,
      ),
    );
  });

  router.put('/buckets/:bucket/objects/*key', async (req, res) => {
    await upload(req, res, keyOf(req));
  });
  router.post('/buckets/:bucket/objects/*key', async (req, res) => {
    const raw = req.params.key as unknown as string[];
    const last = raw[raw.length - 1];
    if (last === 'confirm-upload') {
      res.json(
        await storage.confirmUpload(
          principalOf(req),
          String(req.params.bucket),
          keyOf(req, 'confirm-upload'),
        ),
      );
    } else if (last === 'download-strategy') {
      const expiresIn = downloadStrategyQuerySchema.parse({
        expiresIn: (req.body as { expiresIn?: unknown } | undefined)?.expiresIn,
      }).expiresIn;
      res.json(
        await storage.downloadStrategy(
          callerOrAnon(req),
          String(req.params.bucket),
          keyOf(req, 'download-strategy'),
          expiresIn,
        ),
      );
    } else {
      throw new AppError(
        404,
        'NOT_FOUND',
        'Use PUT to upload to a key, or POST to /objects to let Kiln pick one',
      );
    }
  });
  router.delete('/buckets/:bucket/objects/*key', async (req, res) => {
    res.json(await storage.remove(principalOf(req), String(req.params.bucket), keyOf(req)));
  });

  router.get('/buckets/:bucket/objects/*key', async (req, res) => {
    const token = typeof req.query.token === 'string' ? req.query.token : undefined;
    const row = await storage.findForDownload(
      callerOrAnon(req),
      String(req.params.bucket),
      keyOf(req),
      token,
    );
    const size = Number(row.size);
    const etag = `"${row.etag}"`;
    const lastModified = row.updated_at.toUTCString();
    const ifNoneMatch = req.get('if-none-match');
    const notModified =
      ifNoneMatch &&
      ifNoneMatch
        .split(',')
        .some((t) => t.trim() === etag || t.trim() === '*' || t.trim() === `W/${etag}`);
    // If-Range: a range of a version the client no longer has would mix two files.
    const ifRange = req.get('if-range')?.trim();
    const rangeApplies = !ifRange || ifRange === etag || ifRange === lastModified;
    let range: ByteRange | undefined;
    try {
      range = notModified || !rangeApplies ? undefined : parseRange(req.get('range'), size);
    } catch (err) {
      res.setHeader('Content-Range', `bytes */${size}`);
      throw err;
    }
    // Opened before any header is set: a failure here is a clean error answer.
    const stream =
      notModified || req.method === 'HEAD' ? undefined : await storage.openBytes(row, range);

    res.setHeader('ETag', etag);
    res.setHeader('Last-Modified', lastModified);
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader(
      'Cache-Control',
      row.public && !token ? 'public, max-age=3600' : 'private, no-cache',
    );
    if (notModified) {
      res.status(304).end();
      return;
    }
    const name = row.key.split('/').pop()!;
    res.setHeader('Content-Type', row.mime_type);
    if (servedInline(row.mime_type)) {
      res.setHeader('Content-Disposition', contentDisposition('inline', name));
    } else {
      res.setHeader('Content-Disposition', contentDisposition('attachment', name));
      res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
    }
    if (range) {
      res.status(206);
      res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
      res.setHeader('Content-Length', String(range.end - range.start + 1));
    } else {
      res.setHeader('Content-Length', String(size));
    }
    if (!stream) {
      res.end();
      return;
    }
    await pipeline(stream, res).catch(() => res.destroy());
  });

  return router;
}
