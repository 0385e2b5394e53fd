import { z } from 'zod';

/** The error envelope every non-PostgREST endpoint answers with. */
export const errorEnvelopeSchema = z.object({
  error: z.string(),
  message: z.string(),
  statusCode: z.number().int(),
  nextActions: z.string().optional(),
});
export type ErrorEnvelope = z.infer<typeof errorEnvelopeSchema>;

/** `limit`/`offset` as they arrive in a query string. */
export const paginationQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
export type PaginationQuery = z.infer<typeof paginationQuerySchema>;

export const paginationSchema = z.object({
  offset: z.number().int(),
  limit: z.number().int(),
  total: z.number().int(),
});
export type Pagination = z.infer<typeof paginationSchema>;

export const roleSchema = z.enum(['anon', 'authenticated', 'project_admin']);
export type Role = z.infer<typeof roleSchema>;
