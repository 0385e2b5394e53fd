import { z } from 'zod';

/**
 * An origin a browser sends in `Origin`: scheme, host and optional port, nothing else
 * (`https://app.example.com`, `http://localhost:5173`).
 */
export const corsOriginSchema = z
  .string()
  .max(2048)
  .refine((v) => {
    if (!/^https?:\/\/[^/?#\s]+$/i.test(v)) return false;
    try {
      return new URL(v).origin === v.toLowerCase();
    } catch {
      return false;
    }
  }, 'must be an origin such as https://app.example.com (scheme, host and port; no path)');

/** `["*"]` (any origin) or a list of origins. */
export const corsOriginsSchema = z
  .array(z.union([z.literal('*'), corsOriginSchema]))
  .min(1, 'at least one origin, or ["*"] for any origin')
  .max(100, 'at most 100 origins')
  .refine((v) => !v.includes('*') || v.length === 1, '"*" stands alone: any origin');

/** A session-policy duration in seconds: 0 turns it off; at most a year. */
export const sessionPolicySecondsSchema = z
  .number()
  .int()
  .min(0)
  .max(366 * 24 * 3600, 'at most a year (31622400 seconds)');

/**
 * PATCH /api/settings: the settings that change at run time, any subset. `null` removes the
 * override (the environment's value, or the default, applies again).
 */
export const updateSettingsRequestSchema = z
  .object({
    corsOrigins: corsOriginsSchema.nullable().optional(),
    /** A session ends this long after its sign-in, however often it is refreshed (0: never). */
    sessionMaxLifetimeSeconds: sessionPolicySecondsSchema.nullable().optional(),
    /** A session not refreshed for this long ends (0: never). */
    sessionInactivityTimeoutSeconds: sessionPolicySecondsSchema.nullable().optional(),
    /** One session per user: a new sign-in ends the user's other sessions. */
    singleSessionPerUser: z.boolean().nullable().optional(),
  })
  .strict()
  .refine(
    (v) => Object.keys(v).length > 0,
    'send at least one setting (corsOrigins, sessionMaxLifetimeSeconds, sessionInactivityTimeoutSeconds, singleSessionPerUser)',
  );
export type UpdateSettingsRequest = z.infer<typeof updateSettingsRequestSchema>;

/** Where a value comes from: set at run time (PATCH), from the environment, or Kiln's default. */
export const settingSourceSchema = z.enum(['runtime', 'environment', 'default']);
export type SettingSource = z.infer<typeof settingSourceSchema>;

/** A setting that changes at run time (every instance applies it within seconds). */
const runtimeSetting = <T extends z.ZodType>(value: T) =>
  z.object({
    /** The environment variable it overrides. */
    envName: z.string(),
    description: z.string(),
    /** What applies now. */
    value,
    source: settingSourceSchema,
    /** What applies without the override (the environment's value or the default). */
    baseValue: value,
    baseSource: z.enum(['environment', 'default']),
    /** When the override was set (null: there is none). */
    updatedAt: z.iso.datetime().nullable(),
  });

/**
 * A setting read once at start (an environment variable). Secrets are never sent: `value` is null
 * and `secret` true, with `isSet` saying whether it has a value.
 */
export const environmentSettingSchema = z.object({
  name: z.string(),
  value: z.string().nullable(),
  source: z.enum(['environment', 'default']),
  secret: z.boolean(),
  isSet: z.boolean(),
});

/** GET /api/settings (and the answer to PATCH). */
export const settingsResponseSchema = z.object({
  project: z.object({
    /** The URL clients use (API_BASE_URL). */
    url: z.string(),
    version: z.string(),
  }),
  /** Keyed by the field PATCH takes. */
  runtime: z.object({
    corsOrigins: runtimeSetting(z.array(z.string())),
    sessionMaxLifetimeSeconds: runtimeSetting(z.number()),
    sessionInactivityTimeoutSeconds: runtimeSetting(z.number()),
    singleSessionPerUser: runtimeSetting(z.boolean()),
  }),
  environment: z.array(environmentSettingSchema),
});
export type SettingsResponse = z.infer<typeof settingsResponseSchema>;
