/**
 * Buckets and objects, mounted at /api/storage. Uploads and downloads are hot paths: declared with
 * `parse: false` (the schemas document them; the handlers stream `req` and answer on `res`), so
 * nothing is parsed or buffered on the way.
 */
import type { Request, Response } from 'express';
import fresh from 'fresh';
import { pipeline } from 'node:stream/promises';
import {
  bucketParamsSchema,
  confirmUploadRequestSchema,
  createBucketRequestSchema,
  deleteBucketQuerySchema,
  deleteBucketResponseSchema,
  deleteObjectResponseSchema,
  deleteObjectsRequestSchema,
  deleteObjectsResponseSchema,
  downloadObjectQuerySchema,
  downloadStrategyQuerySchema,
  downloadStrategyRequestSchema,
  downloadStrategyResponseSchema,
  errorEnvelopeSchema,
  listBucketsResponseSchema,
  listObjectsQuerySchema,
  listObjectsResponseSchema,
  objectParamsSchema,
  storageBucketSchema,
  storedFileSchema,
  updateBucketRequestSchema,
  uploadObjectFormSchema,
  uploadStrategyRequestSchema,
  uploadStrategyResponseSchema,
} from '@kiln/shared-schemas';
import type { Principal } from '../core/db.js';
import { AppError } from '../core/errors.js';
import { readMultipart } from '../core/multipart.js';
import { principalOf } from '../core/auth/principal.js';
import { ACCESS_ERRORS, route, type ErrorMap, type RouteGroup } from '../core/route.js';
import type { ByteRange } from './providers/provider.js';
import { downloadDisposition, servedInline, type StorageService } from './service.js';

const ANON: Principal = { role: 'anon', credential: 'anon_key', claims: { role: 'anon' } };

/** The caller, or anon when no credential was sent (public buckets are readable by anyone). */
function callerOrAnon(req: Request): Principal {
  return req.auth.kind === 'none' ? ANON : principalOf(req);
}

/** The object key from `/objects/<key...>`: the SDK sends it URL-encoded as one segment. */
function keyOf(req: Request): string {
  const raw = req.params.key as unknown as string[] | string;
  return (Array.isArray(raw) ? raw : [raw]).join('/');
}

/** POST to an object names an action in its last segment; anything else is no route. */
function notAnAction(): AppError {
  return new AppError(
    404,
    'NOT_FOUND',
    'Use PUT to upload to a key, or POST to /objects to let Kiln pick one',
  );
}

/** `…/confirm-upload/` (a trailing slash) names no action: the 404 it always was. */
function noTrailingSlash(req: Request): void {
  if (req.path.endsWith('/')) throw notAnAction();
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

/**
 * The byte range a download sends, as Express's `req.range()` (the range-parser package) reads
 * `Range` (RFC 9110 §14), overlapping and adjacent ranges combined. Undefined = the whole file:
 * no header, another unit (which must be ignored), or several ranges that do not combine into
 * one (Kiln sends no multipart/byteranges). A malformed or unsatisfiable byte range is a 416
 * with `Content-Range: bytes *\/size`.
 */
function requestedRange(req: Request, res: Response, size: number): ByteRange | undefined {
  const header = req.get('range');
  const ranges = header ? req.range(size, { combine: true }) : undefined;
  if (ranges === undefined) return undefined;
  if (typeof ranges !== 'number') {
    return ranges.type.toLowerCase() === 'bytes' && ranges.length === 1 ? ranges[0] : undefined;
  }
  const spec = header!.trim();
  // -2 = malformed: only a malformed *byte* range is refused; anything else is not ours to read.
  if (ranges === -2 && !/^bytes=/i.test(spec)) return undefined;
  // range-parser refuses a suffix longer than the file, which RFC 9110 §14.1.2 serves whole.
  if (ranges === -1 && size > 0 && /^bytes=-\s*0*[1-9]\d*$/i.test(spec)) {
    return { start: 0, end: size - 1 };
  }
  res.setHeader('Content-Range', `bytes */${size}`);
  throw new AppError(
    416,
    'STORAGE_INVALID_RANGE',
    `Range "${spec.slice(0, 60)}" cannot be satisfied for ${size} bytes`,
  );
}

/**
 * A conditional GET or HEAD whose If-None-Match / If-Modified-Since still match this version:
 * the fresh package (what Express's `req.fresh` calls), given the request's validators only.
 * `req.fresh` also answers "stale" whenever the request says `Cache-Control: no-cache`, which
 * fetch() adds to every request carrying a conditional header; that directive is for caches
 * (RFC 9111 §5.2.1.4), and the origin's 304 is the revalidation it asks for.
 */
function unchangedForClient(req: Request, etag: string, lastModified: string): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  return fresh(
    {
      'if-none-match': req.headers['if-none-match'],
      'if-modified-since': req.headers['if-modified-since'],
    },
    { etag, 'last-modified': lastModified },
  );
}

/** What a credential that was sent but refused answers (`callerOrAnon` reads it). */
const REFUSED_CREDENTIAL: ErrorMap = ACCESS_ERRORS.anyKey;

/** Every path under a bucket answers this for a bucket (or an object) that does not exist. */
const NOT_FOUND: ErrorMap = { 404: ['STORAGE_NOT_FOUND'] };

/** What an upload may answer. */
const UPLOAD_ERRORS: ErrorMap = {
  ...NOT_FOUND,
  400: [
    'STORAGE_INVALID_PARAMETER',
    'STORAGE_INVALID_FILE_TYPE',
    'INVALID_MULTIPART',
    'UPLOAD_INTERRUPTED',
  ],
  401: ['STORAGE_PERMISSION_DENIED'],
  403: ['STORAGE_PERMISSION_DENIED'],
  413: ['STORAGE_INSUFFICIENT_QUOTA', 'PAYLOAD_TOO_LARGE'],
  415: ['INVALID_MULTIPART'],
};

const DOWNLOAD_HEADERS = {
  ETag: 'The version’s strong validator',
  'Last-Modified': 'When this version was stored',
  'Accept-Ranges': 'bytes',
  'Cache-Control':
    '`public, max-age=3600` for a public object without token, `private, no-cache` otherwise',
  'Content-Disposition':
    'inline for types a browser shows without running anything, attachment otherwise',
};

export function storageRoutes(storage: StorageService): RouteGroup {
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

  const download = async (req: Request, res: Response) => {
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
    const notModified = unchangedForClient(req, etag, lastModified);
    // If-Range: a range of a version the client no longer has would mix two files.
    const ifRange = req.get('if-range')?.trim();
    const rangeApplies = !ifRange || ifRange === etag || ifRange === lastModified;
    const range = notModified || !rangeApplies ? undefined : requestedRange(req, res, size);
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
      res.setHeader('Content-Disposition', downloadDisposition('inline', name));
    } else {
      res.setHeader('Content-Disposition', downloadDisposition('attachment', name));
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
  };

  const confirmUpload = (req: Request, key: string) => {
    // The body was never required: a malformed one is ignored, as before.
    const body = confirmUploadRequestSchema.safeParse(req.body);
    const size = body.success ? body.data?.size : undefined;
    return storage.confirmUpload(principalOf(req), String(req.params.bucket), key, size);
  };

  const downloadStrategyByPost = (req: Request, key: string) => {
    const expiresIn = downloadStrategyQuerySchema.parse({
      expiresIn: (req.body as { expiresIn?: unknown } | undefined)?.expiresIn,
    }).expiresIn;
    return storage.downloadStrategy(callerOrAnon(req), String(req.params.bucket), key, expiresIn);
  };

  const uploadDecl = {
    access: 'anyKey',
    // The body streams to the provider: nothing is parsed or buffered here.
    parse: false,
    bodyType: 'multipart',
    body: uploadObjectFormSchema,
    responses: { 201: { description: 'Stored', schema: storedFileSchema } },
    errors: UPLOAD_ERRORS,
  } as const;

  return {
    tag: 'storage',
    routes: [
      // ---- buckets (admin) --------------------------------------------------------------------
      route({
        method: 'get',
        path: '/buckets',
        access: 'admin',
        summary: 'List buckets with their object counts and sizes',
        responses: { 200: listBucketsResponseSchema },
        handler: () => storage.listBuckets(),
      }),
      route({
        method: 'post',
        path: '/buckets',
        access: 'admin',
        summary: 'Create a bucket',
        body: createBucketRequestSchema,
        responses: { 201: { description: 'Created', schema: storageBucketSchema } },
        errors: { 409: ['STORAGE_ALREADY_EXISTS'] },
        handler: ({ body }) => storage.createBucket(body),
      }),
      route({
        method: 'patch',
        path: '/buckets/:bucket',
        access: 'admin',
        summary: 'Change a bucket’s visibility, allowed types, size limit or user uploads',
        params: bucketParamsSchema,
        body: updateBucketRequestSchema,
        responses: { 200: storageBucketSchema },
        errors: NOT_FOUND,
        handler: ({ params, body }) => storage.updateBucket(params.bucket, body),
      }),
      route({
        method: 'delete',
        path: '/buckets/:bucket',
        access: 'admin',
        summary: 'Delete a bucket (with its objects when force=true)',
        params: bucketParamsSchema,
        query: deleteBucketQuerySchema,
        responses: { 200: deleteBucketResponseSchema },
        errors: { ...NOT_FOUND, 409: ['STORAGE_BUCKET_NOT_EMPTY'] },
        handler: ({ params, query }) => storage.deleteBucket(params.bucket, query.force === 'true'),
      }),

      // ---- objects ----------------------------------------------------------------------------
      route({
        method: 'get',
        path: '/buckets/:bucket/objects',
        access: 'anyone',
        summary: 'List the objects the caller may read (anyone: public buckets)',
        params: bucketParamsSchema,
        query: listObjectsQuerySchema,
        responses: { 200: listObjectsResponseSchema },
        errors: { ...REFUSED_CREDENTIAL, ...NOT_FOUND },
        // A credential that was sent but refused is a 401, before the query is read.
        authorize: ({ req }) => void callerOrAnon(req),
        handler: ({ req, params, query }) => storage.list(callerOrAnon(req), params.bucket, query),
      }),
      route({
        ...uploadDecl,
        method: 'post',
        path: '/buckets/:bucket/objects',
        summary: 'Upload a file under a key Kiln picks from its filename',
        params: bucketParamsSchema,
        handler: ({ req, res }) => upload(req, res, generatedKey),
      }),
      route({
        method: 'delete',
        path: '/buckets/:bucket/objects',
        access: 'anyKey',
        summary: 'Delete several objects (the caller’s own, or any for an admin)',
        params: bucketParamsSchema,
        body: deleteObjectsRequestSchema,
        responses: { 200: deleteObjectsResponseSchema },
        errors: NOT_FOUND,
        handler: ({ principal, params, body }) =>
          storage.removeMany(principal, params.bucket, body.keys),
      }),
      route({
        method: 'post',
        path: '/buckets/:bucket/upload-strategy',
        access: 'anyKey',
        summary: 'How to upload a file: through Kiln, or straight to the provider then confirm',
        params: bucketParamsSchema,
        body: uploadStrategyRequestSchema,
        responses: { 200: uploadStrategyResponseSchema },
        errors: {
          ...NOT_FOUND,
          400: ['STORAGE_INVALID_PARAMETER', 'STORAGE_INVALID_FILE_TYPE'],
          401: ['STORAGE_PERMISSION_DENIED'],
          403: ['STORAGE_PERMISSION_DENIED'],
          413: ['STORAGE_INSUFFICIENT_QUOTA'],
        },
        handler: ({ principal, params, body }) =>
          storage.uploadStrategy(principal, params.bucket, body),
      }),
      route({
        method: 'get',
        path: '/buckets/:bucket/download-strategy/objects/*key',
        access: 'anyone',
        summary: 'A URL to read an object from (signed or presigned when it is private)',
        params: objectParamsSchema,
        query: downloadStrategyQuerySchema,
        // The key is read from its segments (keyOf), not from the parsed parameters.
        responses: { 200: downloadStrategyResponseSchema },
        errors: { ...REFUSED_CREDENTIAL, ...NOT_FOUND, 400: ['STORAGE_INVALID_PARAMETER'] },
        parse: false,
        handler: ({ req }) => {
          const { expiresIn } = downloadStrategyQuerySchema.parse(req.query);
          return storage.downloadStrategy(
            callerOrAnon(req),
            String(req.params.bucket),
            keyOf(req),
            expiresIn,
          );
        },
      }),
      route({
        ...uploadDecl,
        method: 'put',
        path: '/buckets/:bucket/objects/*key',
        summary: 'Upload a file under a key (replacing the object there)',
        params: objectParamsSchema,
        handler: ({ req, res }) => upload(req, res, keyOf(req)),
      }),
      route({
        method: 'post',
        path: '/buckets/:bucket/objects/*key/confirm-upload',
        access: 'anyKey',
        // Checked in the handler, after the path (…/confirm-upload/ is no action: a 404 first).
        guard: false,
        summary: 'Record the bytes sent to a presigned upload URL',
        params: objectParamsSchema,
        body: confirmUploadRequestSchema,
        parse: false,
        responses: { 200: storedFileSchema },
        errors: {
          ...REFUSED_CREDENTIAL,
          ...NOT_FOUND,
          400: ['STORAGE_INVALID_PARAMETER', 'STORAGE_INVALID_FILE_TYPE'],
          403: ['STORAGE_PERMISSION_DENIED'],
          404: ['STORAGE_NOT_FOUND', 'NOT_FOUND'],
          413: ['STORAGE_INSUFFICIENT_QUOTA'],
        },
        handler: ({ req }) => {
          noTrailingSlash(req);
          return confirmUpload(req, keyOf(req));
        },
      }),
      route({
        method: 'post',
        path: '/buckets/:bucket/objects/*key/download-strategy',
        access: 'anyone',
        summary: 'A URL to read an object from (`expiresIn` in the body)',
        params: objectParamsSchema,
        body: downloadStrategyRequestSchema,
        parse: false,
        responses: { 200: downloadStrategyResponseSchema },
        errors: {
          ...REFUSED_CREDENTIAL,
          404: ['STORAGE_NOT_FOUND', 'NOT_FOUND'],
          400: ['STORAGE_INVALID_PARAMETER'],
        },
        handler: ({ req }) => {
          noTrailingSlash(req);
          return downloadStrategyByPost(req, keyOf(req));
        },
      }),
      route({
        method: 'post',
        path: '/buckets/:bucket/objects/*key',
        access: 'anyone',
        summary: 'No action: upload with PUT to a key, or POST to /objects',
        description:
          'The actions on an object are `…/confirm-upload` and `…/download-strategy`. Those of an empty key (`/objects/confirm-upload`) are answered here, as the key error they are.',
        params: objectParamsSchema,
        parse: false,
        responses: {
          404: {
            description: 'NOT_FOUND: no such action on an object',
            schema: errorEnvelopeSchema,
          },
        },
        errors: { ...REFUSED_CREDENTIAL, 400: ['STORAGE_INVALID_PARAMETER'] },
        handler: async ({ req }) => {
          const raw = req.params.key as unknown as string[];
          const action = raw.length === 1 ? raw[0] : undefined;
          // An empty key is never valid: these answer its 400 (or the credential's 401) first.
          if (action === 'confirm-upload') await confirmUpload(req, '');
          if (action === 'download-strategy') await downloadStrategyByPost(req, '');
          throw notAnAction();
        },
      }),
      route({
        method: 'delete',
        path: '/buckets/:bucket/objects/*key',
        access: 'anyKey',
        summary: 'Delete an object (the caller’s own, or any for an admin)',
        params: objectParamsSchema,
        parse: false,
        responses: { 200: deleteObjectResponseSchema },
        errors: { ...NOT_FOUND, 400: ['STORAGE_INVALID_PARAMETER'] },
        handler: ({ principal, req }) =>
          storage.remove(principal, String(req.params.bucket), keyOf(req)),
      }),
      route({
        method: 'get',
        path: '/buckets/:bucket/objects/*key',
        access: 'anyone',
        summary: 'Download an object (Range, If-None-Match and If-Range honoured; HEAD too)',
        description:
          'Anyone reads a public bucket; a private object needs a credential that may read it, or the `token` of a signed URL from a download strategy.',
        params: objectParamsSchema,
        query: downloadObjectQuerySchema,
        requestHeaders: {
          Range: 'One byte range (`bytes=0-99`, `bytes=-100`); several ranges get the whole file',
          'If-None-Match': 'An ETag the client holds: 304 when it is current',
          'If-Range': 'The ETag or Last-Modified the range belongs to',
        },
        // The bytes stream from the provider to the socket: nothing is parsed or buffered.
        parse: false,
        responses: {
          200: { description: 'The bytes', content: 'bytes', headers: DOWNLOAD_HEADERS },
          206: {
            description: 'A byte range',
            content: 'bytes',
            headers: { ...DOWNLOAD_HEADERS, 'Content-Range': 'bytes start-end/size' },
          },
          304: { description: 'Not modified (If-None-Match)', headers: DOWNLOAD_HEADERS },
        },
        errors: {
          ...REFUSED_CREDENTIAL,
          ...NOT_FOUND,
          400: ['STORAGE_INVALID_PARAMETER'],
          403: ['STORAGE_PERMISSION_DENIED'],
          416: ['STORAGE_INVALID_RANGE'],
        },
        handler: ({ req, res }) => download(req, res),
      }),
    ],
  };
}
