import { z } from 'zod';

/** GET /api/health: the contract's shape. */
export const healthResponseSchema = z.object({
  status: z.literal('ok'),
  version: z.string(),
  service: z.string(),
  timestamp: z.iso.datetime(),
});
export type HealthResponse = z.infer<typeof healthResponseSchema>;

/** GET /health/live: the process is up. */
export const livenessResponseSchema = z.object({ status: z.literal('ok') });
export type LivenessResponse = z.infer<typeof livenessResponseSchema>;

/** GET /health/ready: whether this instance can serve (200) or not (503). */
export const readinessResponseSchema = z.object({
  status: z.enum(['ready', 'unavailable']),
  database: z.enum(['ok', 'unreachable', 'unknown']),
  /** Why not, when known (shutting down). */
  reason: z.string().optional(),
});
export type ReadinessResponse = z.infer<typeof readinessResponseSchema>;
