import path from 'node:path';
import { z } from 'zod';

/**
 * Every environment variable Kiln reads is declared here, once. `.env.example` lists the same
 * names with comments; keep the two in step.
 */
const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const emptyAsUndefined = (v: unknown) => (v === '' ? undefined : v);
const list = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const optionalString = z.preprocess(emptyAsUndefined, z.string().optional());
const seconds = (defaultValue: number) =>
  z.preprocess(emptyAsUndefined, z.coerce.number().int().positive().default(defaultValue));

const keyFormat = (prefix: string) =>
  z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(
        new RegExp(`^${prefix}[0-9a-f]{64}$`),
        `must be "${prefix}" followed by 64 lowercase hex characters`,
      )
      .optional(),
  );

export const envSchema = z.object({
  NODE_ENV: z.preprocess(
    emptyAsUndefined,
    z.enum(['development', 'production', 'test']).default('development'),
  ),
  HOST: z.preprocess(emptyAsUndefined, z.string().default('0.0.0.0')),
  PORT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(65535).default(7130)),
  API_BASE_URL: z.preprocess(emptyAsUndefined, z.url().optional()),
  DATA_DIR: z.preprocess(emptyAsUndefined, z.string().default('./data')),

  DATABASE_URL: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  ),
  POSTGRES_HOST: optionalString,
  POSTGRES_PORT: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1).max(65535).default(5432),
  ),
  POSTGRES_USER: z.preprocess(emptyAsUndefined, z.string().default('postgres')),
  POSTGRES_PASSWORD: optionalString,
  POSTGRES_DB: z.preprocess(emptyAsUndefined, z.string().default('kiln')),
  EMBEDDED_POSTGRES_PORT: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1).max(65535).default(54329),
  ),
  // Backups on this cron schedule (UTC): embedded PostgreSQL, WAL archiving plus base backups;
  // with DATABASE_URL, logical backups (backups/logical). "off" turns them off (README "Backups
  // and restore").
  BACKUP_SCHEDULE: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .default('0 3 * * *')
      .refine((v) => v === 'off' || v.trim().split(/\s+/).length >= 5, {
        message: 'must be a cron expression (5 or 6 fields) or "off"',
      }),
  ),
  // Base backups kept (with the WAL they need); older ones are removed after each backup.
  BACKUP_RETENTION: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1).max(1000).default(7),
  ),
  BACKUP_DIR: optionalString,
  // After each base backup, restore it into a throwaway server on a free port and query it.
  BACKUP_VERIFY: z.preprocess(emptyAsUndefined, booleanFromEnv.default(true)),
  // A logical backup fails when the database server sends nothing for this long (a hung
  // connection) instead of waiting forever.
  BACKUP_DUMP_IDLE_TIMEOUT_MS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(100).max(86_400_000).default(300_000),
  ),
  // Off-site copy of BACKUP_DIR (WAL, base and other backups) in S3: s3://bucket[/prefix].
  BACKUP_S3_URL: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[A-Za-z0-9._/-]*)?$/, {
        message: 'must be s3://bucket or s3://bucket/prefix',
      })
      .optional(),
  ),
  // Where that bucket is; each defaults to the matching S3_* storage setting.
  BACKUP_S3_ENDPOINT_URL: z.preprocess(emptyAsUndefined, z.url().optional()),
  BACKUP_S3_REGION: optionalString,
  BACKUP_S3_FORCE_PATH_STYLE: z.preprocess(emptyAsUndefined, booleanFromEnv.optional()),
  BACKUP_S3_ACCESS_KEY_ID: optionalString,
  BACKUP_S3_SECRET_ACCESS_KEY: optionalString,
  DB_POOL_MAX: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(500).default(20)),
  // Most rows one read of the records API returns (PostgREST's db-max-rows); unset = no cap.
  DB_MAX_ROWS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).optional()),
  // Aggregates in records selects (count(), col.sum()…; PostgREST's db-aggregates-enabled).
  DB_AGGREGATES_ENABLED: z.preprocess(emptyAsUndefined, booleanFromEnv.default(false)),
  // Named prepared statements for request transactions (core/pipeline.ts); off behind a
  // transaction-mode pooler that cannot carry them (PostgREST's db-prepared-statements).
  DB_PREPARED_STATEMENTS: z.preprocess(emptyAsUndefined, booleanFromEnv.default(true)),
  // Execution plans of records requests (Accept: application/vnd.pgrst.plan; db-plan-enabled).
  DB_PLAN_ENABLED: z.preprocess(emptyAsUndefined, booleanFromEnv.default(false)),
  DB_EXPOSED_SCHEMAS: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(
        /^\s*[A-Za-z_][A-Za-z0-9_$]*(\s*,\s*[A-Za-z_][A-Za-z0-9_$]*)*\s*$/,
        'must be a comma-separated list of schema names',
      )
      .default('public'),
  ),
  DB_STATEMENT_TIMEOUT_MS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(0).default(30000),
  ),
  // statement_timeout of anon-key and signed-in user requests (records, RPC, storage checks).
  DB_ANON_STATEMENT_TIMEOUT_MS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(100).default(8000),
  ),
  DB_USER_STATEMENT_TIMEOUT_MS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(100).default(8000),
  ),
  // Request-pool connections one client (principal + address) may hold; unset = DB_POOL_MAX / 4.
  DB_MAX_CONNECTIONS_PER_CLIENT: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1).max(500).optional(),
  ),
  DB_QUEUE_TIMEOUT_MS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(0).max(60_000).default(2000),
  ),

  RAW_SQL_TIMEOUT_MS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1).default(60_000),
  ),
  RAW_SQL_MAX_TIMEOUT_MS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1).default(600_000),
  ),
  IMPORT_MAX_BYTES: z.preprocess(
    emptyAsUndefined,
    z.coerce
      .number()
      .int()
      .min(1)
      .default(100 * 1024 * 1024),
  ),
  MAX_FILE_SIZE: z.preprocess(
    emptyAsUndefined,
    z.coerce
      .number()
      .int()
      .min(1)
      .default(50 * 1024 * 1024),
  ),
  S3_BUCKET: optionalString,
  S3_REGION: optionalString,
  S3_ENDPOINT_URL: z.preprocess(emptyAsUndefined, z.url().optional()),
  S3_FORCE_PATH_STYLE: z.preprocess(emptyAsUndefined, booleanFromEnv.default(false)),
  S3_ACCESS_KEY_ID: optionalString,
  S3_SECRET_ACCESS_KEY: optionalString,
  S3_PREFIX: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9._/-]*$/, 'must be a plain key prefix')
      .default(''),
  ),
  AWS_ACCESS_KEY_ID: optionalString,
  AWS_SECRET_ACCESS_KEY: optionalString,
  AWS_REGION: optionalString,
  STORAGE_UPLOAD_URL_EXPIRY_SECONDS: seconds(3600),
  // Bytes one signed-in user may store across all buckets; 0 = unlimited.
  STORAGE_USER_QUOTA_BYTES: z.preprocess(
    emptyAsUndefined,
    z.coerce
      .number()
      .int()
      .min(0)
      .default(1024 * 1024 * 1024),
  ),
  WEBHOOK_TIMEOUT_MS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(100).default(10_000),
  ),
  WEBHOOK_RETRY_BASE_MS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(10).default(1000),
  ),
  WEBHOOK_RETRY_PERIOD_SECONDS: seconds(24 * 3600),
  // Webhooks to loopback / private / link-local addresses: allowed by default outside production.
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: z.preprocess(emptyAsUndefined, booleanFromEnv.optional()),
  // Background jobs (jobs/): jobs this instance runs at once (0: it runs none, other instances
  // do), how often due delayed and retried jobs are looked for, the lease a running job's
  // instance keeps renewing (a job whose instance died runs again once it lapses), and the
  // largest payload accepted.
  JOBS_WORKER_CONCURRENCY: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(0).max(1000).default(10),
  ),
  JOBS_POLL_INTERVAL_MS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(50).max(60_000).default(1000),
  ),
  JOBS_LEASE_SECONDS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1).max(86_400).default(60),
  ),
  JOBS_MAX_PAYLOAD_BYTES: z.preprocess(
    emptyAsUndefined,
    z.coerce
      .number()
      .int()
      .min(1024)
      .default(256 * 1024),
  ),
  // Schedules: after downtime, run the latest missed tick once (true) or only future ones; how
  // long one run (its call, SQL or enqueue) may take; a running run's lease, renewed while it
  // runs (a run whose instance died is marked failed once it lapses, so `overlap: skip` goes on).
  SCHEDULES_CATCH_UP: z.preprocess(emptyAsUndefined, booleanFromEnv.default(true)),
  SCHEDULES_RUN_TIMEOUT_MS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  ),
  SCHEDULES_LEASE_SECONDS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1).max(86_400).default(30),
  ),
  // Incoming webhooks (webhooks/): the largest delivery read (413 beyond), and how long
  // deliveries (refused ones included) are kept.
  WEBHOOKS_IN_MAX_BODY_BYTES: z.preprocess(
    emptyAsUndefined,
    z.coerce
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
  ),
  WEBHOOKS_IN_RETENTION_DAYS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1).max(3650).default(30),
  ),
  // Payments (payments/): where the official Stripe and Razorpay clients send their API calls
  // (unset: the providers' own hosts). For a staging stand-in or the tests' local fakes.
  STRIPE_API_BASE: z.preprocess(emptyAsUndefined, z.url().optional()),
  RAZORPAY_API_BASE: z.preprocess(emptyAsUndefined, z.url().optional()),
  FUNCTION_TIMEOUT_MS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(100).default(30_000),
  ),
  FUNCTION_MEMORY_MB: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(16).max(16_384).default(256),
  ),
  FUNCTION_IDLE_SECONDS: seconds(300),
  FUNCTION_MAX_PROCESSES: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1).max(1000).default(32),
  ),
  DENO_DIR: optionalString,
  DENO_SUBHOSTING_TOKEN: optionalString,
  DENO_SUBHOSTING_ORG_ID: optionalString,
  DENO_SUBHOSTING_API_URL: z.preprocess(
    emptyAsUndefined,
    z.url({ error: 'must be a URL' }).default('https://api.deno.com/v1'),
  ),
  DENO_SUBHOSTING_POLL_MS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(10).default(1000),
  ),
  DENO_SUBHOSTING_PROJECT: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[a-z0-9-]{3,26}$/, 'must be 3-26 characters of a-z, 0-9 and -')
      .optional(),
  ),
  SMTP_HOST: optionalString,
  SMTP_PORT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(65535).default(587)),
  SMTP_USER: optionalString,
  SMTP_PASSWORD: optionalString,
  SMTP_FROM_EMAIL: z.preprocess(
    emptyAsUndefined,
    z.email({ error: 'must be an email address' }).optional(),
  ),
  SMTP_FROM_NAME: z.preprocess(emptyAsUndefined, z.string().max(200).default('Kiln')),
  SMTP_SECURE: z.preprocess(emptyAsUndefined, booleanFromEnv.default(false)),
  EMAIL_SEND_RAW_PER_HOUR: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1).max(100_000).default(20),
  ),
  // send-raw for signed-in users (admins and the API key always may): off by default.
  EMAIL_SEND_RAW_USERS: z.preprocess(emptyAsUndefined, booleanFromEnv.default(false)),
  EMAIL_SEND_RAW_USER_MAX_RECIPIENTS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1).max(50).default(10),
  ),
  SMS_PROVIDER: z.preprocess(emptyAsUndefined, z.enum(['twilio', 'log', 'none']).optional()),
  TWILIO_ACCOUNT_SID: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^AC[0-9a-zA-Z]{32}$/, 'must be "AC" followed by 32 characters')
      .optional(),
  ),
  TWILIO_AUTH_TOKEN: optionalString,
  TWILIO_FROM: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(
        /^(\+[1-9][0-9]{6,14}|MG[0-9a-fA-F]{32}|[A-Za-z0-9 ]{1,11})$/,
        'must be an E.164 number, a Messaging Service SID (MG…) or an alphanumeric sender id',
      )
      .optional(),
  ),
  TWILIO_API_BASE: z.preprocess(
    emptyAsUndefined,
    z.url({ error: 'must be a URL' }).default('https://api.twilio.com'),
  ),
  SMS_DEFAULT_COUNTRY: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[A-Z]{2}$/, 'must be a two-letter country code (ISO 3166-1 alpha-2), e.g. US')
      .optional(),
  ),
  AUTH_USER_DELETION_HOOK: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(
        /^([a-z_][a-z0-9_$]{0,62}\.)?[a-z_][a-z0-9_$]{0,62}$/,
        'must be a function name, optionally schema-qualified (public.forget_user)',
      )
      .optional(),
  ),
  GOOGLE_CLIENT_ID: optionalString,
  APPLE_CLIENT_ID: optionalString,
  GOOGLE_CLIENT_SECRET: optionalString,
  GITHUB_CLIENT_SECRET: optionalString,
  MICROSOFT_CLIENT_SECRET: optionalString,
  DISCORD_CLIENT_SECRET: optionalString,
  LINKEDIN_CLIENT_SECRET: optionalString,
  X_CLIENT_SECRET: optionalString,
  APPLE_CLIENT_SECRET: optionalString,
  FACEBOOK_CLIENT_SECRET: optionalString,
  GITHUB_CLIENT_ID: optionalString,
  MICROSOFT_CLIENT_ID: optionalString,
  DISCORD_CLIENT_ID: optionalString,
  LINKEDIN_CLIENT_ID: optionalString,
  X_CLIENT_ID: optionalString,
  FACEBOOK_CLIENT_ID: optionalString,
  OAUTH_TEST_BASE_URL: z.preprocess(emptyAsUndefined, z.url({ error: 'must be a URL' }).optional()),
  GOOGLE_JWKS_URL: z.preprocess(emptyAsUndefined, z.url({ error: 'must be a URL' }).optional()),
  APPLE_JWKS_URL: z.preprocess(emptyAsUndefined, z.url({ error: 'must be a URL' }).optional()),
  AUTH_RATE_LIMIT_SIGN_IN: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1).default(30),
  ),
  AUTH_RATE_LIMIT_SIGN_UP: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1).default(20),
  ),
  AUTH_RATE_LIMIT_EMAIL: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).default(20)),
  AUTH_RATE_LIMIT_VERIFY: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1).default(30),
  ),
  AUTH_RATE_LIMIT_WINDOW_SECONDS: seconds(900),
  AUDIT_RETENTION_DAYS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1).max(36_500).default(90),
  ),
  LOG_PROVIDER: z.preprocess(emptyAsUndefined, z.enum(['file', 'cloudwatch']).default('file')),
  CLOUDWATCH_LOG_GROUP: z.preprocess(
    emptyAsUndefined,
    z.string().min(1).max(512).default('/kiln/local'),
  ),
  CLOUDWATCH_ENDPOINT_URL: z.preprocess(
    emptyAsUndefined,
    z.url({ error: 'must be a URL' }).optional(),
  ),
  LOG_FILE_MAX_MB: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1).max(10_000).default(20),
  ),
  LOG_FILE_MAX_FILES: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1).max(1000).default(5),
  ),
  OPENROUTER_API_KEY: optionalString,
  AI_API_KEY: optionalString,
  OPENROUTER_BASE_URL: z.preprocess(emptyAsUndefined, z.url({ error: 'must be a URL' }).optional()),
  AI_BASE_URL: z.preprocess(emptyAsUndefined, z.url({ error: 'must be a URL' }).optional()),
  AI_TIMEOUT_MS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(100).default(120_000)),
  AI_IMAGE_API: z.preprocess(emptyAsUndefined, z.enum(['chat', 'images']).default('chat')),
  // Per-user AI allowances per 24 hours where PUT /api/ai/config sets none; 0 = unlimited.
  AI_USER_DAILY_REQUESTS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(0).max(2_000_000_000).default(200),
  ),
  AI_USER_DAILY_TOKENS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(0).max(2_000_000_000).default(200_000),
  ),
  AI_USER_DAILY_IMAGES: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(0).max(2_000_000_000).default(20),
  ),
  REALTIME_PRESENCE_HEARTBEAT_MS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(100).default(5000),
  ),
  // Members a subscribe ack lists (the first by join time, plus `total`); join / leave events
  // follow only that list.
  REALTIME_PRESENCE_ACK_MAX_MEMBERS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1).max(1000).default(50),
  ),
  // Realtime connections one client address may hold per instance (0 = no limit).
  REALTIME_MAX_SOCKETS_PER_IP: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(0).default(100),
  ),
  REALTIME_ADAPTER: z.preprocess(
    emptyAsUndefined,
    z.enum(['postgres', 'redis']).default('postgres'),
  ),
  REDIS_URL: z.preprocess(emptyAsUndefined, z.string().url().optional()),
  JWT_SECRET: z.preprocess(
    emptyAsUndefined,
    z.string().min(32, 'must be at least 32 characters').optional(),
  ),
  ENCRYPTION_KEY: z.preprocess(
    emptyAsUndefined,
    z.string().min(32, 'must be at least 32 characters').optional(),
  ),
  ENCRYPTION_KEY_PREVIOUS: z.preprocess(
    emptyAsUndefined,
    z.string().min(32, 'must be at least 32 characters').optional(),
  ),
  JWT_ALGORITHM: z.preprocess(
    emptyAsUndefined,
    z.enum(['HS256', 'ES256', 'RS256']).default('HS256'),
  ),
  JWT_KEY_ROTATION_OVERLAP_SECONDS: z.preprocess(
    emptyAsUndefined,
    z.coerce
      .number()
      .int()
      .min(0)
      .max(30 * 24 * 3600)
      .default(24 * 3600),
  ),
  ACCESS_TOKEN_TTL_SECONDS: seconds(15 * 60),
  REFRESH_TOKEN_TTL_SECONDS: seconds(7 * 24 * 3600),
  REFRESH_TOKEN_REUSE_GRACE_SECONDS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(0).max(300).default(10),
  ),
  ADMIN_TOKEN_TTL_SECONDS: seconds(24 * 3600),
  // Session policy (users' sessions; an admin may override each at run time, PATCH /api/settings).
  // A session ends this long after its sign-in however often it is refreshed (0: no limit).
  SESSION_MAX_LIFETIME_SECONDS: z.preprocess(
    emptyAsUndefined,
    z.coerce
      .number()
      .int()
      .min(0)
      .max(366 * 24 * 3600)
      .default(0),
  ),
  // A session not refreshed for this long ends (0: no limit besides REFRESH_TOKEN_TTL_SECONDS).
  SESSION_INACTIVITY_TIMEOUT_SECONDS: z.preprocess(
    emptyAsUndefined,
    z.coerce
      .number()
      .int()
      .min(0)
      .max(366 * 24 * 3600)
      .default(0),
  ),
  // One session per user: a new sign-in ends the user's other sessions (newest wins).
  SESSION_SINGLE_PER_USER: z.preprocess(emptyAsUndefined, booleanFromEnv.default(false)),
  KEY_ROTATION_GRACE_SECONDS: z.preprocess(
    emptyAsUndefined,
    z.coerce
      .number()
      .int()
      .min(0)
      .default(24 * 3600),
  ),

  ADMIN_EMAIL: z.preprocess(emptyAsUndefined, z.email().default('admin@example.com')),
  ADMIN_PASSWORD: optionalString,
  ACCESS_API_KEY: keyFormat('ik_'),
  ACCESS_ANON_KEY: keyFormat('anon_'),
  // A bearer token that may read GET /metrics besides admins (unset: admins only).
  METRICS_TOKEN: z.preprocess(
    emptyAsUndefined,
    z.string().min(16, 'must be at least 16 characters').optional(),
  ),

  LOG_LEVEL: z.preprocess(
    emptyAsUndefined,
    z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info'),
  ),
  LOG_TO_STDOUT: z.preprocess(emptyAsUndefined, booleanFromEnv.default(true)),
  CORS_ORIGINS: z.preprocess(emptyAsUndefined, z.string().default('*')),
  // Which proxies may set X-Forwarded-For (the client address rate limits count by): false,
  // true (= the one proxy directly in front), a hop count, or addresses / CIDR ranges / Express
  // names (loopback, linklocal, uniquelocal). Never "any hop": a client could pick its address.
  TRUST_PROXY: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .default('false')
      .transform((v, ctx): false | number | string[] => {
        const s = v.trim().toLowerCase();
        if (['false', '0', 'no'].includes(s)) return false;
        if (['true', 'yes'].includes(s)) return 1;
        if (/^\d{1,2}$/.test(s)) return Number(s);
        const list = s
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean);
        if (
          list.length &&
          list.every((x) => /^[0-9a-f.:/]+$|^(loopback|linklocal|uniquelocal)$/.test(x))
        )
          return list;
        ctx.addIssue({
          code: 'custom',
          message: 'must be false, true, a hop count, or addresses / CIDR ranges',
        });
        return z.NEVER;
      }),
  ),
  JSON_BODY_LIMIT: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^\d+(b|kb|mb)$/i, 'must look like 100kb or 10mb')
      .default('10mb'),
  ),
  // Deepest nesting of arrays / objects a JSON request body may have (deeper: 400).
  JSON_MAX_DEPTH: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(1).max(1000).default(100),
  ),
  SHUTDOWN_TIMEOUT_MS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number().int().min(0).default(10000),
  ),
});

export type Env = z.infer<typeof envSchema>;

export interface DatabaseTarget {
  /** `embedded`: Kiln starts PostgreSQL itself from the embedded-postgres package. */
  kind: 'embedded' | 'external';
  url: string;
}

/** Where stored files go when they live in S3 or an S3-compatible service. */
export interface S3Options {
  bucket: string;
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Key prefix inside the S3 bucket (lets several projects share one bucket). */
  prefix: string;
}

/** BACKUP_S3_URL's bucket and prefix; the rest from BACKUP_S3_*, else the storage S3_* settings. */
function backupS3Options(e: z.infer<typeof envSchema>): S3Options {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(e.BACKUP_S3_URL!)!;
  const prefix = m[2]!.replace(/\/+$/, '');
  const endpoint = e.BACKUP_S3_ENDPOINT_URL ?? e.S3_ENDPOINT_URL;
  const accessKeyId = e.BACKUP_S3_ACCESS_KEY_ID ?? e.S3_ACCESS_KEY_ID ?? e.AWS_ACCESS_KEY_ID;
  const secretAccessKey =
    e.BACKUP_S3_SECRET_ACCESS_KEY ?? e.S3_SECRET_ACCESS_KEY ?? e.AWS_SECRET_ACCESS_KEY;
  return {
    bucket: m[1]!,
    region: e.BACKUP_S3_REGION ?? e.S3_REGION ?? e.AWS_REGION ?? 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    forcePathStyle: e.BACKUP_S3_FORCE_PATH_STYLE ?? e.S3_FORCE_PATH_STYLE,
    ...(accessKeyId ? { accessKeyId } : {}),
    ...(secretAccessKey ? { secretAccessKey } : {}),
    prefix: prefix ? `${prefix}/` : '',
  };
}

/** Kiln's settings, as read from the environment: the type is what loadConfig() builds. */
export type Config = ReturnType<typeof loadConfig>;

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the environment. Throws a ConfigError naming every bad variable. */
export function loadConfig(
  source: Record<string, string | undefined> = process.env,
  version = '0.0.0',
) {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = issue.path.join('.');
        const value = source[name];
        const shown = value === undefined ? '' : ` (got "${redactValue(name, value)}")`;
        return `${name}: ${issue.message}${shown}`;
      }),
    );
  }
  const e = parsed.data;
  const problems: string[] = [];

  let databaseUrl = e.DATABASE_URL;
  if (!databaseUrl && e.POSTGRES_HOST) {
    const auth = e.POSTGRES_PASSWORD
      ? `${encodeURIComponent(e.POSTGRES_USER)}:${encodeURIComponent(e.POSTGRES_PASSWORD)}`
      : encodeURIComponent(e.POSTGRES_USER);
    databaseUrl = `postgres://${auth}@${e.POSTGRES_HOST}:${e.POSTGRES_PORT}/${encodeURIComponent(e.POSTGRES_DB)}`;
  }

  if (e.NODE_ENV === 'production') {
    if (!e.JWT_SECRET) problems.push('JWT_SECRET: is required when NODE_ENV=production');
    if (!e.ADMIN_PASSWORD) problems.push('ADMIN_PASSWORD: is required when NODE_ENV=production');
  }
  if (e.ADMIN_PASSWORD !== undefined && e.ADMIN_PASSWORD.length < 8) {
    problems.push('ADMIN_PASSWORD: must be at least 8 characters');
  }
  const smsProvider =
    e.SMS_PROVIDER ??
    (e.TWILIO_ACCOUNT_SID ? 'twilio' : e.NODE_ENV === 'production' ? 'none' : 'log');
  if (smsProvider === 'twilio') {
    for (const name of ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM'] as const) {
      if (!e[name]) problems.push(`${name}: is required when SMS_PROVIDER=twilio`);
    }
  }
  if (e.REALTIME_ADAPTER === 'redis' && !e.REDIS_URL) {
    problems.push('REDIS_URL: is required when REALTIME_ADAPTER=redis');
  }
  if (problems.length) throw new ConfigError(problems);

  const corsOrigins: '*' | string[] =
    e.CORS_ORIGINS.trim() === '*'
      ? '*'
      : e.CORS_ORIGINS.split(',')
          .map((o) => o.trim())
          .filter(Boolean);

  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    apiBaseUrl: (e.API_BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    dataDir: path.resolve(e.DATA_DIR),
    /** Undefined until the embedded server is started (server.ts fills it in). */
    databaseUrl,
    embeddedPostgresPort: e.EMBEDDED_POSTGRES_PORT,
    /** Cron schedule (UTC) of base backups of the embedded server, or undefined when off. */
    backupSchedule: e.BACKUP_SCHEDULE === 'off' ? undefined : e.BACKUP_SCHEDULE,
    backupRetention: e.BACKUP_RETENTION,
    backupVerify: e.BACKUP_VERIFY,
    /** Longest silence of the database server during a logical backup before it fails. */
    backupDumpIdleTimeoutMs: e.BACKUP_DUMP_IDLE_TIMEOUT_MS,
    backupDir: path.resolve(e.BACKUP_DIR ?? path.join(e.DATA_DIR, 'backups')),
    /** Set when BACKUP_S3_URL is: BACKUP_DIR is mirrored there (backups/offsite.ts). */
    backupS3: e.BACKUP_S3_URL ? backupS3Options(e) : undefined,
    dbPoolMax: e.DB_POOL_MAX,
    dbStatementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
    /** statement_timeout of anon / authenticated requests (ms). */
    dbAnonStatementTimeoutMs: e.DB_ANON_STATEMENT_TIMEOUT_MS,
    dbUserStatementTimeoutMs: e.DB_USER_STATEMENT_TIMEOUT_MS,
    /** Request-pool connections one client (principal + address) may hold at once. */
    dbMaxConnectionsPerClient: Math.min(
      e.DB_MAX_CONNECTIONS_PER_CLIENT ?? Math.ceil(e.DB_POOL_MAX / 4),
      e.DB_POOL_MAX,
    ),
    /** How long a request waits for a connection before 429 / 503. */
    dbQueueTimeoutMs: e.DB_QUEUE_TIMEOUT_MS,
    /** Schemas the records API serves (the first is the default profile). */
    exposedSchemas: e.DB_EXPOSED_SCHEMAS.split(',').map((s) => s.trim()),
    dbMaxRows: e.DB_MAX_ROWS,
    /** count(), col.sum()… allowed in records selects (PGRST123 otherwise). */
    dbAggregatesEnabled: e.DB_AGGREGATES_ENABLED,
    dbPreparedStatements: e.DB_PREPARED_STATEMENTS,
    /** Accept: application/vnd.pgrst.plan answers the request's EXPLAIN (406 otherwise). */
    dbPlanEnabled: e.DB_PLAN_ENABLED,
    rawSqlTimeoutMs: e.RAW_SQL_TIMEOUT_MS,
    rawSqlMaxTimeoutMs: e.RAW_SQL_MAX_TIMEOUT_MS,
    importMaxBytes: e.IMPORT_MAX_BYTES,
    maxFileSize: e.MAX_FILE_SIZE,
    /** Set when S3_BUCKET is: files go to S3 instead of DATA_DIR/storage. */
    s3: e.S3_BUCKET
      ? {
          bucket: e.S3_BUCKET,
          region: e.S3_REGION ?? e.AWS_REGION ?? 'us-east-1',
          ...(e.S3_ENDPOINT_URL ? { endpoint: e.S3_ENDPOINT_URL } : {}),
          forcePathStyle: e.S3_FORCE_PATH_STYLE,
          ...((e.S3_ACCESS_KEY_ID ?? e.AWS_ACCESS_KEY_ID)
            ? { accessKeyId: e.S3_ACCESS_KEY_ID ?? e.AWS_ACCESS_KEY_ID }
            : {}),
          ...((e.S3_SECRET_ACCESS_KEY ?? e.AWS_SECRET_ACCESS_KEY)
            ? { secretAccessKey: e.S3_SECRET_ACCESS_KEY ?? e.AWS_SECRET_ACCESS_KEY }
            : {}),
          prefix: e.S3_PREFIX,
        }
      : undefined,
    storageUploadUrlExpirySeconds: e.STORAGE_UPLOAD_URL_EXPIRY_SECONDS,
    /** Bytes one signed-in user may store (all buckets together); 0 = unlimited. */
    storageUserQuotaBytes: e.STORAGE_USER_QUOTA_BYTES,
    webhookTimeoutMs: e.WEBHOOK_TIMEOUT_MS,
    webhookRetryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
    webhookRetryPeriodSeconds: e.WEBHOOK_RETRY_PERIOD_SECONDS,
    webhookAllowPrivateNetworks: e.WEBHOOK_ALLOW_PRIVATE_NETWORKS ?? e.NODE_ENV !== 'production',
    jobs: {
      workerConcurrency: e.JOBS_WORKER_CONCURRENCY,
      pollIntervalMs: e.JOBS_POLL_INTERVAL_MS,
      leaseSeconds: e.JOBS_LEASE_SECONDS,
      maxPayloadBytes: e.JOBS_MAX_PAYLOAD_BYTES,
      schedulesCatchUp: e.SCHEDULES_CATCH_UP,
      scheduleRunTimeoutMs: e.SCHEDULES_RUN_TIMEOUT_MS,
      scheduleLeaseSeconds: e.SCHEDULES_LEASE_SECONDS,
    },
    webhooksIn: {
      maxBodyBytes: e.WEBHOOKS_IN_MAX_BODY_BYTES,
      retentionDays: e.WEBHOOKS_IN_RETENTION_DAYS,
    },
    payments: {
      stripeApiBase: e.STRIPE_API_BASE,
      razorpayApiBase: e.RAZORPAY_API_BASE,
    },
    realtimePresenceHeartbeatMs: e.REALTIME_PRESENCE_HEARTBEAT_MS,
    realtimePresenceAckMaxMembers: e.REALTIME_PRESENCE_ACK_MAX_MEMBERS,
    realtimeMaxSocketsPerIp: e.REALTIME_MAX_SOCKETS_PER_IP,
    realtimeAdapter: e.REALTIME_ADAPTER,
    redisUrl: e.REDIS_URL,
    smtp: {
      host: e.SMTP_HOST,
      port: e.SMTP_PORT,
      user: e.SMTP_USER,
      password: e.SMTP_PASSWORD,
      fromEmail: e.SMTP_FROM_EMAIL,
      fromName: e.SMTP_FROM_NAME,
      secure: e.SMTP_SECURE,
    },
    emailSendRawPerHour: e.EMAIL_SEND_RAW_PER_HOUR,
    /** Where SMS one-time codes go (auth/sms/), and how numbers without a + are read. */
    sms: {
      provider: smsProvider,
      twilio:
        smsProvider === 'twilio'
          ? {
              accountSid: e.TWILIO_ACCOUNT_SID!,
              authToken: e.TWILIO_AUTH_TOKEN!,
              from: e.TWILIO_FROM!,
              apiBase: e.TWILIO_API_BASE,
            }
          : undefined,
      defaultCountry: e.SMS_DEFAULT_COUNTRY,
    },
    /** SQL function called with a user's id in the transaction that deletes the user. */
    userDeletionHook: e.AUTH_USER_DELETION_HOOK,
    /** Signed-in users may use send-raw (admins and the API key always may). */
    emailSendRawUsers: e.EMAIL_SEND_RAW_USERS,
    /** Most recipients (to, cc and bcc together) in one user's send-raw message. */
    emailSendRawUserMaxRecipients: e.EMAIL_SEND_RAW_USER_MAX_RECIPIENTS,
    /** Built-in OAuth providers' client ids and secrets from the environment (defaults). */
    oauth: {
      envDefaults: {
        google: { clientId: list(e.GOOGLE_CLIENT_ID)[0], clientSecret: e.GOOGLE_CLIENT_SECRET },
        github: { clientId: e.GITHUB_CLIENT_ID, clientSecret: e.GITHUB_CLIENT_SECRET },
        microsoft: { clientId: e.MICROSOFT_CLIENT_ID, clientSecret: e.MICROSOFT_CLIENT_SECRET },
        discord: { clientId: e.DISCORD_CLIENT_ID, clientSecret: e.DISCORD_CLIENT_SECRET },
        linkedin: { clientId: e.LINKEDIN_CLIENT_ID, clientSecret: e.LINKEDIN_CLIENT_SECRET },
        x: { clientId: e.X_CLIENT_ID, clientSecret: e.X_CLIENT_SECRET },
        apple: { clientId: list(e.APPLE_CLIENT_ID)[0], clientSecret: e.APPLE_CLIENT_SECRET },
        facebook: { clientId: e.FACEBOOK_CLIENT_ID, clientSecret: e.FACEBOOK_CLIENT_SECRET },
      },
      /** Tests only: serve every built-in provider's endpoints from this base URL. */
      testBaseUrl: e.OAUTH_TEST_BASE_URL,
    },
    /** Native ID-token sign-in: our client ids (audiences) and the providers' key sets. */
    idTokens: {
      google: { audiences: list(e.GOOGLE_CLIENT_ID), jwksUrl: e.GOOGLE_JWKS_URL },
      apple: { audiences: list(e.APPLE_CLIENT_ID), jwksUrl: e.APPLE_JWKS_URL },
    },
    /** Requests per address per window on the auth endpoints. */
    authRateLimits: {
      signIn: e.AUTH_RATE_LIMIT_SIGN_IN,
      signUp: e.AUTH_RATE_LIMIT_SIGN_UP,
      email: e.AUTH_RATE_LIMIT_EMAIL,
      verify: e.AUTH_RATE_LIMIT_VERIFY,
      windowSeconds: e.AUTH_RATE_LIMIT_WINDOW_SECONDS,
    },
    auditRetentionDays: e.AUDIT_RETENTION_DAYS,
    logs: {
      provider: e.LOG_PROVIDER,
      cloudwatchGroup: e.CLOUDWATCH_LOG_GROUP,
      cloudwatchEndpoint: e.CLOUDWATCH_ENDPOINT_URL,
      /** AWS_REGION (default us-east-1) and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; unset keys = the SDK's chain. */
      awsRegion: e.AWS_REGION ?? 'us-east-1',
      awsAccessKeyId: e.AWS_ACCESS_KEY_ID,
      awsSecretAccessKey: e.AWS_SECRET_ACCESS_KEY,
      fileMaxBytes: e.LOG_FILE_MAX_MB * 1024 * 1024,
      fileMaxFiles: e.LOG_FILE_MAX_FILES,
    },
    ai: {
      apiKey: e.AI_API_KEY ?? e.OPENROUTER_API_KEY,
      baseUrl: e.AI_BASE_URL ?? e.OPENROUTER_BASE_URL ?? 'https://openrouter.ai/api/v1',
      baseUrlConfigured: Boolean(e.AI_BASE_URL ?? e.OPENROUTER_BASE_URL),
      timeoutMs: e.AI_TIMEOUT_MS,
      imageApi: e.AI_IMAGE_API,
      /** Per-user allowances per 24 hours where ai.config sets none; 0 = unlimited. */
      userDailyDefaults: {
        requests: e.AI_USER_DAILY_REQUESTS,
        tokens: e.AI_USER_DAILY_TOKENS,
        images: e.AI_USER_DAILY_IMAGES,
      },
    },
    functions: {
      timeoutMs: e.FUNCTION_TIMEOUT_MS,
      memoryMb: e.FUNCTION_MEMORY_MB,
      idleSeconds: e.FUNCTION_IDLE_SECONDS,
      maxProcesses: e.FUNCTION_MAX_PROCESSES,
      denoDir: path.resolve(e.DENO_DIR ?? path.join(e.DATA_DIR, 'deno')),
      /** Deno Subhosting instead of local Deno processes, when token and organization are set. */
      subhosting:
        e.DENO_SUBHOSTING_TOKEN && e.DENO_SUBHOSTING_ORG_ID
          ? {
              token: e.DENO_SUBHOSTING_TOKEN,
              organizationId: e.DENO_SUBHOSTING_ORG_ID,
              apiUrl: e.DENO_SUBHOSTING_API_URL,
              project: e.DENO_SUBHOSTING_PROJECT,
              pollMs: e.DENO_SUBHOSTING_POLL_MS,
            }
          : undefined,
    },
    jwtSecret: e.JWT_SECRET,
    encryptionKey: e.ENCRYPTION_KEY,
    /** The key values were sealed with before a rotation; they are re-sealed at start. */
    encryptionKeyPrevious: e.ENCRYPTION_KEY_PREVIOUS,
    /** How access tokens are signed: HS256 with JWT_SECRET, or a published ES256/RS256 key. */
    jwtAlgorithm: e.JWT_ALGORITHM,
    /** How long a rotated signing key keeps verifying when the rotation does not say. */
    jwtKeyRotationOverlapSeconds: e.JWT_KEY_ROTATION_OVERLAP_SECONDS,
    accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlSeconds: e.REFRESH_TOKEN_TTL_SECONDS,
    /**
     * How long after its rotation a refresh token may be exchanged again (browser tabs sharing the
     * refresh cookie); later reuse revokes the session. 0: every reuse does.
     */
    refreshTokenReuseGraceSeconds: e.REFRESH_TOKEN_REUSE_GRACE_SECONDS,
    /** How long an admin session lasts from sign-in (its access tokens: accessTokenTtlSeconds). */
    adminTokenTtlSeconds: e.ADMIN_TOKEN_TTL_SECONDS,
    /** The session policy's values from the environment (runtime settings may override them). */
    sessionPolicy: {
      maxLifetimeSeconds: e.SESSION_MAX_LIFETIME_SECONDS,
      inactivityTimeoutSeconds: e.SESSION_INACTIVITY_TIMEOUT_SECONDS,
      singleSessionPerUser: e.SESSION_SINGLE_PER_USER,
    },
    keyRotationGraceSeconds: e.KEY_ROTATION_GRACE_SECONDS,
    adminEmail: e.ADMIN_EMAIL.toLowerCase(),
    adminPassword: e.ADMIN_PASSWORD,
    accessApiKey: e.ACCESS_API_KEY,
    accessAnonKey: e.ACCESS_ANON_KEY,
    metricsToken: e.METRICS_TOKEN,
    logLevel: e.LOG_LEVEL,
    logToStdout: e.LOG_TO_STDOUT,
    corsOrigins,
    trustProxy: e.TRUST_PROXY,
    jsonBodyLimit: e.JSON_BODY_LIMIT,
    /** Deepest nesting a JSON request body may have. */
    jsonMaxDepth: e.JSON_MAX_DEPTH,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    /**
     * Every variable's parsed value (defaults applied) and whether the environment set it: what
     * GET /api/settings shows (secrets masked, see isSecretVariable).
     */
    variables: Object.fromEntries(
      (Object.keys(envSchema.shape) as (keyof Env)[]).map((name) => [
        name,
        {
          value: e[name] as unknown,
          fromEnvironment: emptyAsUndefined(source[name]) !== undefined,
        },
      ]),
    ) as Record<keyof Env, { value: unknown; fromEnvironment: boolean }>,
    version,
  };
}

/**
 * Variables whose values are never shown (the dashboard sees only whether they are set). Errs
 * towards hiding: any name about a secret, password, key or token, except durations.
 */
export function isSecretVariable(name: string): boolean {
  return /SECRET|PASSWORD|KEY|TOKEN|DATABASE_URL/.test(name) && !/_(SECONDS|MS)$/.test(name);
}

const SECRET_NAMES = /SECRET|PASSWORD|KEY|DATABASE_URL/;
function redactValue(name: string, value: string): string {
  return SECRET_NAMES.test(name) ? '***' : value.slice(0, 80);
}
