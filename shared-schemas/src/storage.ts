import { z } from 'zod';
import { paginationSchema } from './common.js';

export const bucketNameSchema = z
  .string({ error: 'bucketName is required' })
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,62}$/,
    'must be 1-63 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit',
  );

export const mimeTypePattern = z
  .string()
  .regex(/^[\w.+-]+\/([\w.+-]+|\*)$/, 'must look like image/png or image/*');

export const createBucketRequestSchema = z.object({
  bucketName: bucketNameSchema,
  isPublic: z.boolean().default(false),
  allowedMimeTypes: z.array(mimeTypePattern).max(100).nullable().optional(),
  maxFileSize: z.number().int().positive().nullable().optional(),
  /**
   * Signed-in users may upload into this bucket (each owns what they upload, within
   * STORAGE_USER_QUOTA_BYTES). Off unless asked for: only admins and the API key upload.
   */
  allowUserUploads: z.boolean().default(false),
});

export const updateBucketRequestSchema = z
  .object({
    isPublic: z.boolean().optional(),
    allowedMimeTypes: z.array(mimeTypePattern).max(100).nullable().optional(),
    maxFileSize: z.number().int().positive().nullable().optional(),
    allowUserUploads: z.boolean().optional(),
  })
  .strict();

export const listObjectsQuerySchema = z.object({
  prefix: z.string().max(1024).optional(),
  search: z.string().max(200).optional(),
  delimiter: z
    .string()
    .min(1, 'delimiter: one or more characters, such as /')
    .max(16, 'delimiter: at most 16 characters')
    .optional()
    .describe(
      'Group keys as folders, as S3 does: with `/`, the objects directly under `prefix` plus ' +
        'the folders below it (`prefixes`), folders first, paged together',
    ),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

export const deleteObjectsRequestSchema = z.object({
  keys: z
    .array(z.string())
    .min(1, 'at least one key is required')
    .max(1000, 'at most 1000 keys at once'),
});

/** A media type, parameters allowed (`text/plain; charset=utf-8`); no control characters. */
const contentTypeSchema = z
  .string()
  .max(255)
  .regex(
    /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+([ \t]*;[ \t]*[\w!#$&^.+-]+=("[\w !#-[\]-~]*"|[\w!#$&^.+-]+))*$/,
    'must be a media type such as image/png',
  );

export const uploadStrategyRequestSchema = z.object({
  filename: z.string({ error: 'filename is required' }).min(1),
  contentType: contentTypeSchema.optional(),
  size: z.number().int().min(0).optional(),
});

export const confirmUploadRequestSchema = z
  .object({ size: z.number().int().min(0).optional(), contentType: contentTypeSchema.optional() })
  .optional();

export const downloadStrategyQuerySchema = z.object({
  expiresIn: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600)
    .default(3600),
});

// ---- path parameters and queries ---------------------------------------------------------------

/** `{bucket}` in the path (an unknown name is 404 STORAGE_NOT_FOUND). */
export const bucketParamsSchema = z.object({ bucket: z.string() });

/**
 * `{bucket}` and `{key}`: the key is sent URL-encoded as one segment (`notes%2Fhello.txt`);
 * unencoded slashes are accepted too. Documentation only: these routes read the key themselves.
 */
export const objectParamsSchema = z.object({
  bucket: z.string(),
  key: z.string().describe('The object key, URL-encoded whole (a%2Fb)'),
});

/** DELETE /api/storage/buckets/{bucket}?force=true deletes the objects with the bucket. */
export const deleteBucketQuerySchema = z.object({
  force: z.string().optional().describe('"true": delete the bucket’s objects too'),
});

/** GET /api/storage/buckets/{bucket}/objects/{key}: `token` from a download strategy. */
export const downloadObjectQuerySchema = z.object({
  token: z.string().optional().describe('The signature of a signed download URL'),
});

/** POST …/objects/{key}/download-strategy takes `expiresIn` in the body. */
export const downloadStrategyRequestSchema = z
  .object({
    expiresIn: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600)
      .optional(),
  })
  .optional();

/** The multipart form of an upload: one `file` part (its filename and type are used). */
export const uploadObjectFormSchema = z.object({
  file: z.string().describe('The file (binary); its part’s Content-Type is the object’s type'),
});

// ---- responses ----------------------------------------------------------------------------------

/** A bucket as the admin API answers it. */
export const storageBucketSchema = z.object({
  name: z.string(),
  isPublic: z.boolean(),
  /** The same flag under InsForge's name for it. */
  public: z.boolean(),
  allowedMimeTypes: z.array(z.string()).nullable(),
  maxFileSize: z.number().int().nullable(),
  allowUserUploads: z.boolean(),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
});
export type StorageBucket = z.infer<typeof storageBucketSchema>;

/** GET /api/storage/buckets: every bucket with its object count and bytes. */
export const listBucketsResponseSchema = z.array(
  storageBucketSchema.extend({ objectCount: z.number().int(), totalSize: z.number() }),
);

/** DELETE /api/storage/buckets/{bucket} */
export const deleteBucketResponseSchema = z.object({
  message: z.string(),
  deletedObjects: z.number().int(),
});

/** An object's metadata (uploads, confirm-upload, the object list). */
export const storedFileSchema = z.object({
  key: z.string(),
  bucket: z.string(),
  size: z.number(),
  mimeType: z.string(),
  uploadedAt: z.iso.datetime({ offset: true }),
  /** Kiln's download URL for the object. */
  url: z.string(),
});
export type StoredFile = z.infer<typeof storedFileSchema>;

/** GET /api/storage/buckets/{bucket}/objects: `data` (the contract) and `objects` (the SDK). */
export const listObjectsResponseSchema = z.object({
  data: z.array(storedFileSchema),
  objects: z.array(storedFileSchema),
  /**
   * With `delimiter` only: the folders of this page (common prefixes: `prefix` + a name + the
   * delimiter), listed before its objects; `pagination.total` counts folders and objects.
   */
  prefixes: z.array(z.string()).optional(),
  pagination: paginationSchema,
});

/** DELETE /api/storage/buckets/{bucket}/objects/{key} */
export const deleteObjectResponseSchema = z.object({
  message: z.string(),
  key: z.string(),
  bucket: z.string(),
});

/** DELETE /api/storage/buckets/{bucket}/objects: one result per key asked for. */
export const deleteObjectsResponseSchema = z.object({
  results: z.array(
    z.object({
      key: z.string(),
      status: z.enum(['deleted', 'notFound', 'failed']),
      message: z.string().optional(),
    }),
  ),
});

/**
 * POST /api/storage/buckets/{bucket}/upload-strategy: upload through Kiln (`direct`, a PUT to
 * `uploadUrl`), or a form POST straight to the provider, then a confirm (`presigned`).
 */
export const uploadStrategyResponseSchema = z.discriminatedUnion('method', [
  z.object({
    method: z.literal('direct'),
    uploadUrl: z.string(),
    key: z.string(),
    confirmRequired: z.literal(false),
  }),
  z.object({
    method: z.literal('presigned'),
    uploadUrl: z.string(),
    fields: z.record(z.string(), z.string()),
    key: z.string(),
    confirmRequired: z.literal(true),
    confirmUrl: z.string(),
    expiresAt: z.iso.datetime({ offset: true }),
  }),
]);
export type UploadStrategyResponse = z.infer<typeof uploadStrategyResponseSchema>;

/**
 * GET …/download-strategy/objects/{key} (and POST …/objects/{key}/download-strategy): a URL to
 * read the object from. `direct` is Kiln's own URL (signed for a private object; `expiresAt`
 * null when it does not expire), `presigned` the provider's.
 */
export const downloadStrategyResponseSchema = z.object({
  method: z.enum(['direct', 'presigned']),
  url: z.string(),
  expiresAt: z.iso.datetime({ offset: true }).nullable(),
});
export type DownloadStrategyResponse = z.infer<typeof downloadStrategyResponseSchema>;
