import { z } from 'zod';

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

export interface StoredFile {
  key: string;
  bucket: string;
  size: number;
  mimeType: string;
  uploadedAt: string;
  url: string;
}
