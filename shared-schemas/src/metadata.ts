import { z } from 'zod';

export const rotateKeyRequestSchema = z
  .object({
    /** How long the previous key keeps working, in seconds (0 = revoke at once). */
    graceSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 24 * 3600)
      .optional(),
  })
  .strict()
  .optional();
export type RotateKeyRequest = z.infer<typeof rotateKeyRequestSchema>;

export const apiKeyResponseSchema = z.object({ apiKey: z.string() });
export const anonKeyResponseSchema = z.object({ anonKey: z.string() });
