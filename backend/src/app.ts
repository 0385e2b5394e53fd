import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';
import express, { type RequestHandler } from 'express';
import cookieParser from 'cookie-parser';
import type { Config } from './core/config.js';
import { Database } from './core/db.js';
import { SecretBox } from './core/crypto.js';
import { errorHandler, notFoundHandler } from './core/errors.js';
import { RouteRegistry } from './core/route.js';
import { serverClasses } from './core/lane.js';
import {
  accessLog,
  apiSecurityHeaders,
  corsMiddleware,
  jsonBody,
  rejectUnusableUrls,
  requestScope,
  pageSecurityHeaders,
  requestId,
  spa,
} from './core/http.js';
import { createLogger, type Logger } from './core/logger.js';
import { Metrics } from './core/metrics.js';
import { metricsRoutes } from './metrics/routes.js';
import { migrate, withBootstrapLock } from './core/migrate.js';
import { KeyStore, ensureProjectKeys } from './core/auth/keys.js';
import { ensureAuthenticators } from './core/authenticator.js';
import { resolvePrincipal } from './core/auth/principal.js';
import { TokenService } from './core/auth/tokens.js';
import { Revocations } from './core/auth/revocations.js';
import { SigningKeys, ensureSigningKey } from './core/auth/signing-keys.js';
import { TrustedIssuers } from './core/auth/issuers.js';
import { signingKeyRoutes } from './auth/keys-routes.js';
import { AuthService } from './auth/service.js';
import { CsrfTokens, SessionStore } from './auth/sessions.js';
import { authRoutes } from './auth/routes.js';
import { metadataRoutes } from './metadata/routes.js';
import { legacyAnonTokenRoutes, secretsKeyRotationRoutes } from './metadata/insforge-key-routes.js';
import { healthRoutes, type HealthState } from './health/routes.js';
import { docsRoutes } from './docs/routes.js';
import { pagesRoutes } from './pages/routes.js';
import { StorageService } from './storage/service.js';
import { storageRoutes } from './storage/routes.js';
import { RealtimeServer } from './realtime/server.js';
import { LocalRuntime } from './functions/providers/local-runtime.js';
import { FunctionsService } from './functions/service.js';
import { SecretsService, resealSecrets } from './secrets/service.js';
import { secretsRoutes } from './secrets/routes.js';
import { DenoLocalProvider } from './functions/providers/deno-local.js';
import { DenoSubhostingProvider } from './functions/providers/deno-subhosting.js';
import type { FunctionsProvider } from './functions/providers/provider.js';
import { functionsAdminRoutes, functionsInvokeRoutes } from './functions/routes.js';
import { SubhostingClient } from './functions/providers/subhosting.js';
import { AiGateway } from './ai/service.js';
import { OpenAiCompatibleProvider } from './ai/providers/openai-compatible.js';
import { AuditLog } from './audit/service.js';
import { auditTrail } from './audit/middleware.js';
import { auditRoutes } from './audit/routes.js';
import { backupsRoutes } from './backups/routes.js';
import { BackupService } from './backups/service.js';
import { BackupScheduler } from './backups/scheduler.js';
import { OffsiteCopier } from './backups/offsite.js';
import {
  LiveRestore,
  MaintenanceGate,
  type EmbeddedServerControl,
} from './backups/live-restore.js';
import { Mailer } from './email/mailer.js';
import { MfaService } from './auth/mfa.js';
import { authEvents } from './auth/events.js';
import { ID_TOKEN_DEFAULTS, IdTokenVerifier } from './auth/id-token.js';
import { OAuthService } from './auth/oauth.js';
import { limiter, PostgresRateLimitStore } from './core/rate-limit.js';
import { Templates } from './email/templates.js';
import { EmailFlows } from './email/flows.js';
import { PhoneFlows } from './auth/phone.js';
import { createSmsProvider } from './auth/sms/index.js';
import { UserData } from './auth/user-data.js';
import { emailRoutes, emailSettingsRoutes } from './email/routes.js';
import { aiRoutes } from './ai/routes.js';
import { AiUsageReports } from './ai/usage.js';
import { realtimeRoutes } from './realtime/routes.js';
import { RealtimeAdmin } from './realtime/admin.js';
import { WebhookDispatcher, pruneMessages } from './realtime/webhooks.js';
import { LocalStorageProvider } from './storage/providers/local.js';
import { S3StorageProvider } from './storage/providers/s3.js';
import type { StorageProvider } from './storage/providers/provider.js';
import { SchemaCache } from './database/records/schema-cache.js';
import { recordsRoutes } from './database/records/handler.js';
import { databaseAdminRoutes } from './database/admin/routes.js';
import { JobsService } from './jobs/service.js';
import { JobWorker } from './jobs/worker.js';
import { jobsEnqueueRoutes, jobsRoutes } from './jobs/routes.js';
import { TargetRunner } from './jobs/targets.js';
import { Scheduler, SchedulesService } from './jobs/schedules.js';
import { schedulesRoutes } from './jobs/schedule-routes.js';
import { RuntimeSettings } from './settings/runtime.js';
import { IncomingWebhooks } from './webhooks/service.js';
import { incomingWebhookAdminRoutes, incomingWebhookReceiveRoutes } from './webhooks/routes.js';
import { StripePayments } from './payments/stripe.js';
import {
  stripeAdminRoutes,
  stripeUserRoutes,
  stripeWebhookRoutes,
} from './payments/stripe-routes.js';
import { RazorpayPayments } from './payments/razorpay.js';
import {
  razorpayAdminRoutes,
  razorpayUserRoutes,
  razorpayWebhookRoutes,
} from './payments/razorpay-routes.js';
import { settingsRoutes } from './settings/routes.js';
import { createLogProvider, logsRoutes, sourceLogger, type LogProvider } from './logs/index.js';

export interface KilnApp {
  config: Config;
  logger: Logger;
  /** auth.logs: DATA_DIR/logs/auth.log (and CloudWatch when LOG_PROVIDER=cloudwatch). */
  authLogger: Logger;
  /** Where /api/logs reads from (files, or CloudWatch Logs). */
  logs: LogProvider;
  db: Database;
  keys: KeyStore;
  auth: AuthService;
  /** Ended sessions and key changes as this instance knows them (core/auth/revocations.ts). */
  revocations: Revocations;
  /** Tables, relationships and functions of the exposed schemas (reloads itself on DDL). */
  schemaCache: SchemaCache;
  storage: StorageService;
  /** The audit trail (records are written after their responses finish; `settled()` waits). */
  audit: AuditLog;
  realtime: RealtimeServer;
  /** Background jobs: the admin service and this instance's worker. */
  jobs: { service: JobsService; worker: JobWorker };
  /** Schedules: the admin service and this instance's scheduler (its `now` is the clock). */
  schedules: { service: SchedulesService; scheduler: Scheduler };
  /**
   * Backups: the admin service, and the BACKUP_SCHEDULE scheduler when on (its cron runs only
   * with `scheduleBackups`; `runNow()` is one scheduled run).
   */
  backups: { service: BackupService; scheduler?: BackupScheduler };
  /** Every declared route (core/route.ts): what /api/docs documents and tests check. */
  routes: RouteRegistry;
  /** The Express application (also usable without listening, e.g. behind another server). */
  handler: express.Express;
  server: http.Server;
  /** Starts listening; resolves with the bound address (port 0 picks a free port). */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /** Stops accepting, drains in-flight requests (up to SHUTDOWN_TIMEOUT_MS), closes the pool. */
  close(): Promise<void>;
}

export interface CreateAppOptions {
  logger?: Logger;
  /** postgres.logs (server.ts): shipped to CloudWatch too when that is the log provider. */
  postgresLogger?: Logger;
  /**
   * Test harness only: check every response of a declared route against its declaration
   * (core/route.ts `checkResponses`). Never set by server.ts, so never on in production.
   */
  checkResponses?: boolean;
  /**
   * The embedded PostgreSQL this process started (server.ts): with it, POST /api/backups/restore
   * restores to a point in time while Kiln keeps running (backups/live-restore.ts).
   */
  embeddedPostgres?: EmbeddedServerControl;
  /** Take backups on BACKUP_SCHEDULE (server.ts; test apps do not, unless they ask). */
  scheduleBackups?: boolean;
}

/** Where a workspace's built single-page app lives (frontend/dist, auth/dist). */
function builtAppDir(pkg: string): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), 'dist');
}

/**
 * The composition root: builds every service and provider from `config` and mounts the routes.
 * Nothing is global, so tests start as many apps as they like against their own databases.
 * Migrations and first-start seeding run here under an advisory lock.
 */
export async function createApp(config: Config, options: CreateAppOptions = {}): Promise<KilnApp> {
  if (!config.databaseUrl) throw new Error('createApp: config.databaseUrl is required');
  if (!config.jwtSecret) throw new Error('createApp: config.jwtSecret is required');
  const adminPassword = config.adminPassword;
  if (!adminPassword) throw new Error('createApp: config.adminPassword is required');

  const logger =
    options.logger ??
    createLogger({
      level: config.logLevel,
      dir: path.join(config.dataDir, 'logs'),
      stdout: config.logToStdout,
      maxBytes: config.logs.fileMaxBytes,
      maxFiles: config.logs.fileMaxFiles,
    });

  const box = new SecretBox(config.encryptionKey ?? config.jwtSecret);
  const databaseUrl = config.databaseUrl;
  const jwtSecret = config.jwtSecret;
  // Migrate, seed the project keys and set up the request role, one instance at a time.
  const requestUrls = await withBootstrapLock(databaseUrl, async (client) => {
    const applied = await migrate(client, logger);
    if (applied.length) logger.info('applied migrations', { migrations: applied });
    if (config.encryptionKeyPrevious) {
      const { resealed, unreadable } = await resealSecrets(
        client,
        box,
        new SecretBox(config.encryptionKeyPrevious),
      );
      if (resealed || unreadable)
        logger.info('re-sealed encrypted values with the current key', { resealed, unreadable });
    }
    await ensureProjectKeys(client, box, { anon: config.accessAnonKey, api: config.accessApiKey });
    // The access token signing key pair (ES256/RS256), generated once and shared by all instances.
    await ensureSigningKey(client, box, config.jwtAlgorithm);
    return ensureAuthenticators(client, databaseUrl, jwtSecret);
  });

  // Kiln's own services run on the owner login (not a superuser: core/authenticator.ts).
  const ownerUrl = requestUrls.owner;
  const db = new Database({
    connectionString: ownerUrl,
    principalConnectionString: requestUrls.requests,
    adminConnectionString: requestUrls.admin,
    max: config.dbPoolMax,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    anonStatementTimeoutMs: config.dbAnonStatementTimeoutMs,
    userStatementTimeoutMs: config.dbUserStatementTimeoutMs,
    maxConnectionsPerClient: config.dbMaxConnectionsPerClient,
    queueTimeoutMs: config.dbQueueTimeoutMs,
    preparedStatements: config.dbPreparedStatements,
  });
  const keys = new KeyStore(db, box);
  // Ended sessions and key changes, announced by the database: access tokens of an ended session
  // are refused and keys re-read on every instance within moments, without a query per request.
  const revocations = new Revocations(db, {
    connectionString: ownerUrl,
    maxTokenTtlSeconds: config.accessTokenTtlSeconds,
    logger,
  });
  // Signing keys and trusted issuers: one verifier (TokenService) for REST, realtime and functions.
  const signingKeys = new SigningKeys(config.jwtAlgorithm, config.jwtSecret, { db, box });
  const trustedIssuers = new TrustedIssuers(db);
  revocations.onKeysChanged(() => {
    keys.invalidate();
    signingKeys.invalidate();
    trustedIssuers.invalidate();
  });
  try {
    await revocations.start();
  } catch (err) {
    await revocations.close();
    await db.close().catch(() => undefined);
    throw err;
  }
  const tokens = new TokenService(signingKeys, revocations, trustedIssuers);
  const sessions = new SessionStore(
    db,
    revocations,
    config.refreshTokenTtlSeconds,
    config.accessTokenTtlSeconds,
    config.refreshTokenReuseGraceSeconds,
  );
  const mailer = new Mailer(db, box, config.smtp, logger, {
    production: config.env === 'production',
    devLogFile: path.join(config.dataDir, 'logs', 'mail-dev.log'),
  });
  await mailer.announce();
  const templates = new Templates(db);
  const auth = new AuthService(db, tokens, sessions, new CsrfTokens(config.jwtSecret), {
    accessTokenTtlSeconds: config.accessTokenTtlSeconds,
    adminTokenTtlSeconds: config.adminTokenTtlSeconds,
    adminEmail: config.adminEmail,
    adminPassword,
    adminTagKey: Buffer.from(
      crypto.hkdfSync('sha256', jwtSecret, 'kiln', 'kiln-admin-session-v1', 32),
    ),
  });
  // Admin sessions opened with other admin credentials (ADMIN_EMAIL / ADMIN_PASSWORD changed) end.
  await auth.endStaleAdminSessions();
  const emailFlows = new EmailFlows(db, auth, mailer, templates, {
    key: Buffer.from(crypto.hkdfSync('sha256', jwtSecret, 'kiln', 'kiln-email-codes-v1', 32)),
    apiBaseUrl: () => config.apiBaseUrl,
    appName: config.smtp.fromName,
    logger,
  });

  const schemaCache = new SchemaCache(db, ownerUrl, config.exposedSchemas, logger);
  try {
    await schemaCache.start();
  } catch (err) {
    await schemaCache.close();
    await revocations.close();
    await db.close().catch(() => undefined);
    throw err;
  }

  const provider: StorageProvider = config.s3
    ? new S3StorageProvider(config.s3)
    : new LocalStorageProvider(path.join(config.dataDir, 'storage'), config.jwtSecret);
  const storage = new StorageService(
    db,
    provider,
    {
      apiBaseUrl: () => config.apiBaseUrl,
      maxFileSize: config.maxFileSize,
      presignedUploadExpirySeconds: config.storageUploadUrlExpirySeconds,
      userQuotaBytes: config.storageUserQuotaBytes,
    },
    logger,
  );
  // The per-user quota lives where the objects policy reads it.
  await storage.applySettings();
  // Bytes nobody refers to (a crash mid-upload), older than the provider's grace (none for a
  // DATA_DIR of this process's own; an hour for a store other instances share).
  await storage
    .sweep(provider.startSweepGraceMs)
    .catch((err: unknown) => logger.warn('storage sweep failed', { error: String(err) }));
  const sweeper = setInterval(() => {
    storage
      .sweep(3600_000)
      .catch((err: unknown) => logger.warn('storage sweep failed', { error: String(err) }));
  }, 3600_000);
  sweeper.unref();

  // Settings admins change at run time (PATCH /api/settings), over the environment's values.
  const runtimeSettings = new RuntimeSettings(
    db,
    {
      corsOrigins: {
        value: config.corsOrigins === '*' ? ['*'] : config.corsOrigins,
        source: config.variables.CORS_ORIGINS.fromEnvironment ? 'environment' : 'default',
      },
      sessionMaxLifetimeSeconds: {
        value: config.sessionPolicy.maxLifetimeSeconds,
        source: config.variables.SESSION_MAX_LIFETIME_SECONDS.fromEnvironment
          ? 'environment'
          : 'default',
      },
      sessionInactivityTimeoutSeconds: {
        value: config.sessionPolicy.inactivityTimeoutSeconds,
        source: config.variables.SESSION_INACTIVITY_TIMEOUT_SECONDS.fromEnvironment
          ? 'environment'
          : 'default',
      },
      singleSessionPerUser: {
        value: config.sessionPolicy.singleSessionPerUser,
        source: config.variables.SESSION_SINGLE_PER_USER.fromEnvironment
          ? 'environment'
          : 'default',
      },
    },
    { logger },
  );
  await runtimeSettings.load();
  // The session policy (runtime settings over the environment), read through their cache.
  sessions.setPolicy(async () => ({
    maxLifetimeSeconds: await runtimeSettings.get('sessionMaxLifetimeSeconds'),
    inactivityTimeoutSeconds: await runtimeSettings.get('sessionInactivityTimeoutSeconds'),
    singleSessionPerUser: await runtimeSettings.get('singleSessionPerUser'),
  }));

  const state: HealthState = { shuttingDown: false };
  const routes = new RouteRegistry({ checkResponses: options.checkResponses ?? false });
  const app = express();
  app.disable('x-powered-by');
  // JSON answers carry no ETag (PostgREST sends none; hashing every body costs time).
  app.set('etag', false);
  app.set('trust proxy', config.trustProxy);
  app.set('query parser', 'extended');

  // Prometheus metrics (GET /metrics); the access log's timing feeds the request histogram.
  const metrics = new Metrics(db, { logger });
  const gate = options.embeddedPostgres ? new MaintenanceGate() : undefined;
  // What every request passes first, in order; the records lane (below) runs the same list.
  const front: RequestHandler[] = [
    requestId,
    // The client's hang-up cancels its queries; its address counts for connection fairness.
    requestScope,
    accessLog(logger, metrics),
    apiSecurityHeaders,
    corsMiddleware(() => runtimeSettings.get('corsOrigins')),
    // While a point-in-time restore runs: 503 RESTORING for all but health and the job poll.
    ...(gate ? [gate.middleware] : []),
  ];
  for (const middleware of front) app.use(middleware);
  routes.mount(app, '/', healthRoutes(db, config.version, state));
  // Edge functions: before credentials and body parsing (the function sees the caller's headers
  // and body as sent, and decides for itself what they mean).
  const functionLogger = createLogger({
    level: 'info',
    dir: path.join(config.dataDir, 'logs'),
    file: 'functions.log',
    stdout: false,
    maxBytes: config.logs.fileMaxBytes,
    maxFiles: config.logs.fileMaxFiles,
  });
  const authLogger = sourceLogger(config, 'auth.logs');
  // Log sources: files always; with LOG_PROVIDER=cloudwatch each is shipped to its stream too.
  const logProvider = createLogProvider(config, logger);
  logProvider.attach('kiln.logs', logger);
  logProvider.attach('function.logs', functionLogger);
  logProvider.attach('auth.logs', authLogger);
  if (options.postgresLogger) logProvider.attach('postgres.logs', options.postgresLogger);
  const functionsService = new FunctionsService(db);
  let internalUrl: string | undefined;
  const secrets = new SecretsService(db, box, async () => ({
    INSFORGE_BASE_URL: config.apiBaseUrl,
    // Read when a function starts or deploys, after the provider below is chosen.
    INSFORGE_INTERNAL_URL: functionsProvider.kilnUrl(internalUrl, config.apiBaseUrl),
    ANON_KEY: await keys.getActive('anon'),
    API_KEY: await keys.getActive('api'),
  }));
  const runtime = new LocalRuntime({
    denoDir: config.functions.denoDir,
    memoryMb: config.functions.memoryMb,
    idleMs: config.functions.idleSeconds * 1000,
    maxProcesses: config.functions.maxProcesses,
    startTimeoutMs: 30_000,
    logger,
    functionLogger,
  });
  // Where functions run, chosen once: nothing else asks which one it is.
  const functionsProvider: FunctionsProvider = config.functions.subhosting
    ? new DenoSubhostingProvider({
        client: new SubhostingClient({
          ...config.functions.subhosting,
          projectName:
            config.functions.subhosting.project ??
            `kiln-${crypto.createHash('sha256').update(jwtSecret).digest('hex').slice(0, 12)}`,
          logger,
        }),
        checker: runtime,
        functions: functionsService,
        secrets,
        logger,
      })
    : new DenoLocalProvider({
        runtime,
        functions: functionsService,
        secrets,
        functionLogger,
        apiBaseUrl: () => config.apiBaseUrl,
      });
  const functionsDeps = {
    functions: functionsService,
    secrets,
    provider: functionsProvider,
    functionLogger,
    timeoutMs: config.functions.timeoutMs,
  };
  routes.mount(app, '/functions', functionsInvokeRoutes(functionsDeps));
  // Incoming webhooks: before body parsing too (signatures are checked over the exact bytes).
  const incomingWebhooks = new IncomingWebhooks(db, box, () => jobsService, {
    apiBaseUrl: () => config.apiBaseUrl,
    maxBodyBytes: config.webhooksIn.maxBodyBytes,
    retentionDays: config.webhooksIn.retentionDays,
  });
  routes.mount(app, '/api/webhooks/in', incomingWebhookReceiveRoutes(incomingWebhooks));
  // Payments (Stripe, Razorpay): provider webhooks are verified over the exact bytes too.
  const paymentsOptions = {
    isAllowedRedirect: (url: string) => oauth.isAllowedAppRedirect(url),
    apiBaseUrl: () => config.apiBaseUrl,
    stripeApiBase: config.payments.stripeApiBase,
    razorpayApiBase: config.payments.razorpayApiBase,
    maxBodyBytes: config.webhooksIn.maxBodyBytes,
  };
  const stripePayments = new StripePayments(db, box, paymentsOptions);
  routes.mount(
    app,
    '/api/webhooks/stripe',
    stripeWebhookRoutes(stripePayments, paymentsOptions.maxBodyBytes),
  );
  const razorpayPayments = new RazorpayPayments(db, box, paymentsOptions);
  routes.mount(
    app,
    '/api/webhooks/razorpay',
    razorpayWebhookRoutes(razorpayPayments, paymentsOptions.maxBodyBytes),
  );
  const credentials = resolvePrincipal(keys, tokens);
  app.use(credentials);
  front.push(credentials);
  // The PostgREST-protocol paths parse their own bodies and answer errors in PostgREST's shape.
  const recordsGroup = recordsRoutes(db, schemaCache, {
    jsonBodyLimit: config.jsonBodyLimit,
    jsonMaxDepth: config.jsonMaxDepth,
    logger,
    maxRows: config.dbMaxRows,
    aggregates: config.dbAggregatesEnabled,
    plans: config.dbPlanEnabled,
  });
  routes.mount(app, '/api/database', recordsGroup);
  // NUL characters and bottomless JSON are refused here for every other route (400).
  app.use(rejectUnusableUrls);
  app.use(jsonBody({ limit: config.jsonBodyLimit, maxDepth: config.jsonMaxDepth }));
  app.use(cookieParser());
  // Every successful admin write is recorded in the audit trail (system.audit_log).
  const audit = new AuditLog(db, logger);
  app.use(auditTrail(audit));
  routes.mount(
    app,
    '/api/database',
    databaseAdminRoutes(db, schemaCache, {
      rawSqlDefaultTimeoutMs: config.rawSqlTimeoutMs,
      rawSqlMaxTimeoutMs: config.rawSqlMaxTimeoutMs,
      importMaxBytes: config.importMaxBytes,
      jsonMaxDepth: config.jsonMaxDepth,
      logger,
    }),
  );

  // OAuth providers: sign-in (auth routes) and the enabled list (metadata).
  const oauth = new OAuthService(db, box, auth, {
    apiBaseUrl: () => config.apiBaseUrl,
    key: Buffer.from(crypto.hkdfSync('sha256', jwtSecret, 'kiln', 'kiln-oauth-v1', 32)),
    envDefaults: config.oauth.envDefaults,
    testBaseUrl: config.oauth.testBaseUrl,
  });
  // Phone sign-in (SMS codes: the mailed codes' mechanism on another channel), and users' data.
  const phoneFlows = new PhoneFlows(db, auth, createSmsProvider(config, logger), {
    key: Buffer.from(crypto.hkdfSync('sha256', jwtSecret, 'kiln', 'kiln-email-codes-v1', 32)),
    defaultCountry: config.sms.defaultCountry,
    appName: config.smtp.fromName,
    logger,
  });
  const userData = new UserData(db, auth, storage, {
    exposedSchemas: config.exposedSchemas,
    deletionHook: config.userDeletionHook,
    sessions,
    logger,
  });
  auth.useErasure((ids) => userData.erase(ids));
  app.use('/api/auth', authEvents(authLogger));
  routes.mount(
    app,
    '/api/auth',
    authRoutes(auth, {
      refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
      adminSessionTtlSeconds: config.adminTokenTtlSeconds,
      secureCookies: config.apiBaseUrl.startsWith('https://'),
      email: { flows: emailFlows },
      phone: phoneFlows,
      userData,
      mfa: new MfaService(
        db,
        box,
        Buffer.from(crypto.hkdfSync('sha256', jwtSecret, 'kiln', 'kiln-mfa-v1', 32)),
        config.smtp.fromName,
      ),
      sessions,
      idTokens: new IdTokenVerifier({
        google: {
          ...ID_TOKEN_DEFAULTS.google,
          ...(config.idTokens.google.jwksUrl ? { jwksUrl: config.idTokens.google.jwksUrl } : {}),
          audiences: config.idTokens.google.audiences,
        },
        apple: {
          ...ID_TOKEN_DEFAULTS.apple,
          ...(config.idTokens.apple.jwksUrl ? { jwksUrl: config.idTokens.apple.jwksUrl } : {}),
          audiences: config.idTokens.apple.audiences,
        },
      }),
      oauth,
      limits: {
        signIn: limiter(db, 'sign-in', {
          limit: config.authRateLimits.signIn,
          windowSeconds: config.authRateLimits.windowSeconds,
          what: 'sign-in attempts',
        }),
        signUp: limiter(db, 'sign-up', {
          limit: config.authRateLimits.signUp,
          windowSeconds: config.authRateLimits.windowSeconds,
          what: 'sign-ups',
        }),
        email: limiter(db, 'email', {
          limit: config.authRateLimits.email,
          windowSeconds: config.authRateLimits.windowSeconds,
          what: 'messages requested',
        }),
        verify: limiter(db, 'verify', {
          limit: config.authRateLimits.verify,
          windowSeconds: config.authRateLimits.windowSeconds,
          what: 'code and token checks',
        }),
      },
    }),
  );
  routes.mount(app, '/api/auth', emailSettingsRoutes(mailer, templates));
  routes.mount(app, '/api/auth', legacyAnonTokenRoutes(keys));
  routes.mount(
    app,
    '/',
    signingKeyRoutes(signingKeys, trustedIssuers, {
      defaultOverlapSeconds: config.jwtKeyRotationOverlapSeconds,
    }),
  );
  routes.mount(
    app,
    '/api/email',
    emailRoutes(mailer, db, {
      perHour: config.emailSendRawPerHour,
      users: config.emailSendRawUsers,
      userMaxRecipients: config.emailSendRawUserMaxRecipients,
    }),
  );
  routes.mount(
    app,
    '/api/metadata',
    metadataRoutes(db, keys, auth, schemaCache, {
      version: config.version,
      defaultGraceSeconds: config.keyRotationGraceSeconds,
      oauth,
      mailer,
    }),
  );
  routes.mount(
    app,
    '/api/docs',
    docsRoutes(routes, { version: config.version, apiBaseUrl: () => config.apiBaseUrl }),
  );
  routes.mount(app, '/api/storage', storageRoutes(storage));
  routes.mount(app, '/', metricsRoutes(metrics, { token: config.metricsToken }));
  routes.mount(app, '/api/settings', settingsRoutes(runtimeSettings, config));
  routes.mount(
    app,
    '/api/secrets',
    secretsRoutes(secrets, () => functionsProvider.redeployAll()),
  );
  routes.mount(app, '/api/secrets', secretsKeyRotationRoutes(keys, config.keyRotationGraceSeconds));
  routes.mount(app, '/api/functions', functionsAdminRoutes(functionsDeps));
  routes.mount(app, '/api/logs/audits', auditRoutes(audit, config.auditRetentionDays));
  // BACKUP_S3_URL: BACKUP_DIR's archived WAL and backups mirrored to a bucket as they land.
  const offsite = config.backupS3
    ? new OffsiteCopier({
        backupDir: config.backupDir,
        s3: config.backupS3,
        retention: config.backupRetention,
        logger,
      })
    : undefined;
  offsite?.start();
  const backupService = new BackupService({
    databaseUrl,
    dataDir: config.dataDir,
    backupDir: config.backupDir,
    retention: config.backupRetention,
    verify: config.backupVerify,
    dumpIdleTimeoutMs: config.backupDumpIdleTimeoutMs,
    logger,
    offsite,
    storage: provider,
    audit,
    live:
      gate && options.embeddedPostgres
        ? new LiveRestore({
            control: options.embeddedPostgres,
            gate,
            drainMs: config.shutdownTimeoutMs,
            logger,
            // The database went back in time: what was read from it is read again.
            afterRestart: async () => {
              keys.invalidate();
              signingKeys.invalidate();
              trustedIssuers.invalidate();
              await schemaCache.reload();
              await runtimeSettings.load();
              // Done means ready: the LISTEN connections are back (they retry with backoff).
              const deadline = Date.now() + 15_000;
              while (
                Object.values(state.listeners?.() ?? {}).some((up) => !up) &&
                Date.now() < deadline
              )
                await new Promise((r) => setTimeout(r, 50));
            },
          })
        : undefined,
  });
  routes.mount(app, '/api/backups', backupsRoutes(backupService));
  // BACKUP_SCHEDULE: scheduled runs are jobs of the same service (backups/scheduler.ts).
  const backupScheduler = config.backupSchedule
    ? new BackupScheduler({ schedule: config.backupSchedule, backups: backupService, logger })
    : undefined;
  if (options.scheduleBackups) backupScheduler?.start();
  routes.mount(app, '/api/logs', logsRoutes(logProvider));
  routes.mount(
    app,
    '/api/ai',
    aiRoutes(
      new AiGateway(db, {
        // The AI provider, chosen here once: an OpenAI-compatible upstream when a key or a base
        // URL is configured (a local server may need no key), else none (503 on every AI call).
        provider:
          config.ai.apiKey || config.ai.baseUrlConfigured
            ? new OpenAiCompatibleProvider(config.ai)
            : undefined,
        baseUrl: config.ai.baseUrl,
        userDailyDefaults: config.ai.userDailyDefaults,
        logger,
      }),
      new AiUsageReports(db),
    ),
  );
  // Receivers verify X-Kiln-Signature with this secret (GET /api/realtime/config).
  const webhookSecret = Buffer.from(
    crypto.hkdfSync('sha256', jwtSecret, 'kiln', 'kiln-webhooks-v1', 32),
  ).toString('hex');
  routes.mount(
    app,
    '/api/realtime',
    realtimeRoutes(new RealtimeAdmin(db, { secret: webhookSecret, kick: () => webhooks.kick() })),
  );
  // Background jobs: graphile-worker runs them (jobs/worker.ts); function targets call this
  // server, URL targets are signed with the webhook secret.
  const jobTargets = new TargetRunner({
    db,
    internalUrl: () => internalUrl,
    webhookSecret,
    allowPrivateNetworks: config.webhookAllowPrivateNetworks,
  });
  const jobsService = new JobsService(db, {
    maxPayloadBytes: config.jobs.maxPayloadBytes,
    allowPrivateNetworks: config.webhookAllowPrivateNetworks,
  });
  const jobWorker = new JobWorker(db, jobTargets, {
    connectionString: ownerUrl,
    concurrency: config.jobs.workerConcurrency,
    pollIntervalMs: config.jobs.pollIntervalMs,
    leaseSeconds: config.jobs.leaseSeconds,
    logger,
  });
  routes.mount(app, '/api/jobs', jobsEnqueueRoutes(jobsService));
  routes.mount(app, '/api/jobs', jobsRoutes(jobsService));
  const scheduleOptions = {
    apiBaseUrl: () => config.apiBaseUrl,
    allowPrivateNetworks: config.webhookAllowPrivateNetworks,
    catchUp: config.jobs.schedulesCatchUp,
    logger,
  };
  const schedulesService = new SchedulesService(db, box, secrets, jobsService, scheduleOptions);
  const scheduler = new Scheduler(db, schedulesService, box, secrets, jobTargets, {
    ...scheduleOptions,
    pollMs: Math.min(1000, config.jobs.pollIntervalMs),
    runTimeoutMs: config.jobs.scheduleRunTimeoutMs,
    leaseSeconds: config.jobs.scheduleLeaseSeconds,
  });
  routes.mount(app, '/api/schedules', schedulesRoutes(schedulesService, scheduler));
  routes.mount(app, '/api/webhooks/incoming', incomingWebhookAdminRoutes(incomingWebhooks));
  routes.mount(app, '/api/payments/stripe', stripeUserRoutes(stripePayments));
  routes.mount(app, '/api/payments/stripe', stripeAdminRoutes(stripePayments));
  routes.mount(app, '/api/payments/razorpay', razorpayUserRoutes(razorpayPayments));
  routes.mount(app, '/api/payments/razorpay', razorpayAdminRoutes(razorpayPayments));
  app.use('/dashboard', pageSecurityHeaders(), spa(builtAppDir('@kiln/frontend'), 'dashboard'));
  app.use(
    '/auth',
    pageSecurityHeaders({ imagesFromAnywhere: true }),
    spa(builtAppDir('@kiln/auth'), 'auth pages'),
  );
  routes.mount(app, '/', pagesRoutes());

  app.use(notFoundHandler);
  const finalError = errorHandler(logger);
  app.use(finalError);

  // The records paths, the hot path, skip Express's walk over every layer (core/lane.ts): the
  // same middleware and handlers, found directly; everything else goes through the app.
  const recordsLane = routes.lane(app, recordsGroup, { front, finalError });
  const server = http.createServer(serverClasses(app), (req, res) => {
    if (!recordsLane(req, res)) app(req, res);
  });
  const webhooks = new WebhookDispatcher(db, {
    secret: webhookSecret,
    timeoutMs: config.webhookTimeoutMs,
    retryBaseMs: config.webhookRetryBaseMs,
    retryPeriodSeconds: config.webhookRetryPeriodSeconds,
    allowPrivateNetworks: config.webhookAllowPrivateNetworks,
    logger,
  });
  const realtime = new RealtimeServer(server, db, keys, tokens, {
    connectionString: ownerUrl,
    logger,
    revocations,
    onWebhooksQueued: () => webhooks.kick(),
    presenceHeartbeatMs: config.realtimePresenceHeartbeatMs,
    presenceAckMaxMembers: config.realtimePresenceAckMaxMembers,
    maxSocketsPerIp: config.realtimeMaxSocketsPerIp,
    jsonMaxDepth: config.jsonMaxDepth,
    redisUrl: config.realtimeAdapter === 'redis' ? config.redisUrl : undefined,
    // While a point-in-time restore runs, new connections are refused as requests are.
    refusal: gate ? () => gate.refusal() : undefined,
    // Express's own req.ip (its `trust proxy` setting) for a handshake request.
    clientAddress: (req) =>
      (
        Object.create(app.request, {
          headers: { value: req.headers },
          socket: { value: req.socket },
        }) as express.Request
      ).ip,
  });
  await realtime.start();
  metrics.watch({ realtimeSockets: () => realtime.io.of('/').sockets.size });
  state.listeners = () => ({
    realtime: realtime.listening,
    'schema cache': schemaCache.listening,
    credentials: revocations.listening,
  });
  webhooks.start();
  await jobWorker.start();
  scheduler.start();
  const schedulePruner = setInterval(() => {
    schedulesService
      .prune()
      .catch((err: unknown) => logger.warn('schedule logs prune failed', { error: String(err) }));
  }, 3600_000);
  schedulePruner.unref();
  // Message retention: every instance prunes hourly (the DELETE is idempotent).
  const pruner = setInterval(() => {
    pruneMessages(db).catch((err: unknown) =>
      logger.warn('realtime prune failed', { error: String(err) }),
    );
  }, 3600_000);
  pruner.unref();
  const auditPruner = setInterval(() => {
    audit
      .prune(config.auditRetentionDays)
      .catch((err: unknown) => logger.warn('audit prune failed', { error: String(err) }));
  }, 24 * 3600_000);
  auditPruner.unref();
  const incomingWebhooksPruner = setInterval(() => {
    incomingWebhooks
      .prune()
      .catch((err: unknown) =>
        logger.warn('incoming webhook deliveries prune failed', { error: String(err) }),
      );
  }, 3600_000);
  incomingWebhooksPruner.unref();
  const limitPruner = setInterval(() => {
    PostgresRateLimitStore.prune(db).catch((err: unknown) =>
      logger.warn('rate limit prune failed', { error: String(err) }),
    );
  }, 600_000);
  limitPruner.unref();
  // Requests Node rejects before Express sees them (oversized headers or URL, malformed HTTP)
  // still get a JSON envelope.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? 431 : 400;
    const body = JSON.stringify({
      error: tooLarge ? 'REQUEST_TOO_LARGE' : 'BAD_REQUEST',
      message: tooLarge ? 'The request line or headers are too large' : 'Malformed HTTP request',
      statusCode: status,
    });
    socket.end(
      `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      state.shuttingDown = true;
      backupScheduler?.stop();
      await realtime.close();
      // Running jobs finish (up to the drain timeout) while the server still answers the
      // functions they call; one still running then runs again elsewhere after its lease.
      clearInterval(schedulePruner);
      await scheduler.stop(config.shutdownTimeoutMs);
      await jobWorker.stop(config.shutdownTimeoutMs);
      await webhooks.stop();
      await functionsProvider.close();
      clearInterval(pruner);
      clearInterval(auditPruner);
      clearInterval(incomingWebhooksPruner);
      clearInterval(limitPruner);
      const drained = new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      const force = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
      await drained;
      clearTimeout(force);
      clearInterval(sweeper);
      // Work that outlives its response (freeing replaced bytes, mail sent after the answer)
      // finishes before the mailer, the logs and the database go.
      await storage.settled();
      await audit.settled();
      await emailFlows.settled();
      await phoneFlows.settled();
      mailer.close();
      await logProvider.close();
      await offsite?.stop();
      await provider.close?.();
      await schemaCache.close();
      await revocations.close();
      await db.close();
    })());

  return {
    config,
    logger,
    authLogger,
    logs: logProvider,
    db,
    keys,
    auth,
    revocations,
    schemaCache,
    storage,
    audit,
    realtime,
    jobs: { service: jobsService, worker: jobWorker },
    schedules: { service: schedulesService, scheduler },
    backups: { service: backupService, scheduler: backupScheduler },
    routes,
    handler: app,
    server,
    listen: (port = config.port, host = config.host) =>
      new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const v6 = address.family === 'IPv6';
          const any = address.address === '0.0.0.0' || address.address === '::';
          const hostPart = any
            ? v6
              ? '[::1]'
              : '127.0.0.1'
            : v6
              ? `[${address.address}]`
              : address.address;
          internalUrl = `http://${hostPart}:${address.port}`;
          resolve(server.address() as AddressInfo);
        });
      }),
    close,
  };
}
