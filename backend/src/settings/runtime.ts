/**
 * Settings an admin changes at run time (PATCH /api/settings). Each is declared once in
 * RUNTIME_SETTINGS: the environment variable it overrides, and the schema its value must pass.
 * An override is a row of system.runtime_settings (migration 0035); without one, the value from
 * the environment (or the default) applies.
 *
 * Every instance reads the table through a short cache (CACHE_TTL_MS, the way KeyStore reads the
 * project keys): a change made on one instance applies there at once and on the others within
 * the cache's lifetime, with one small query per instance per period and none per request. A
 * failed re-read keeps the last values (and is retried after the period); a row that no longer
 * passes its schema (edited by hand) is ignored, so the base value applies.
 */
import {
  corsOriginsSchema,
  sessionPolicySecondsSchema,
  type SettingsResponse,
} from '@kiln/shared-schemas';
import { z } from 'zod';
import type { Database } from '../core/db.js';
import type { Logger } from '../core/logger.js';

export const RUNTIME_SETTINGS = {
  corsOrigins: {
    envName: 'CORS_ORIGINS',
    description:
      'Origins browsers may call the API from (CORS); ["*"] reflects any origin. Sockets and ' +
      'the dashboard are unaffected.',
    schema: corsOriginsSchema,
  },
  sessionMaxLifetimeSeconds: {
    envName: 'SESSION_MAX_LIFETIME_SECONDS',
    description:
      "A user's session ends this long after its sign-in, however often it is refreshed; its " +
      'access tokens expire by then at the latest. 0: no limit.',
    schema: sessionPolicySecondsSchema,
  },
  sessionInactivityTimeoutSeconds: {
    envName: 'SESSION_INACTIVITY_TIMEOUT_SECONDS',
    description:
      "A user's session not refreshed for this long ends (its access tokens live at most " +
      'ACCESS_TOKEN_TTL_SECONDS past its last refresh). 0: no limit.',
    schema: sessionPolicySecondsSchema,
  },
  singleSessionPerUser: {
    envName: 'SESSION_SINGLE_PER_USER',
    description:
      "One session per user: a sign-in ends the user's other sessions, whose access tokens " +
      'stop at once (newest wins).',
    schema: z.boolean(),
  },
} as const satisfies Record<string, { envName: string; description: string; schema: z.ZodType }>;

export type RuntimeSettingKey = keyof typeof RUNTIME_SETTINGS;
type Values = { [K in RuntimeSettingKey]: z.infer<(typeof RUNTIME_SETTINGS)[K]['schema']> };

/** What applies when there is no override, and where it came from. */
export type BaseValues = {
  [K in RuntimeSettingKey]: { value: Values[K]; source: 'environment' | 'default' };
};

/** How long an instance trusts what it read (ms). */
export const CACHE_TTL_MS = 2_000;

interface Override<T> {
  value: T;
  updatedAt: Date;
}
type Overrides = { [K in RuntimeSettingKey]?: Override<Values[K]> };

export class RuntimeSettings {
  private overrides: Overrides = {};
  private loadedAt = 0;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly db: Database,
    private readonly base: BaseValues,
    private readonly options: { logger?: Logger; ttlMs?: number } = {},
  ) {}

  /** The value that applies now (the override, else the base). */
  async get<K extends RuntimeSettingKey>(key: K): Promise<Values[K]> {
    await this.fresh();
    return (this.overrides[key]?.value ?? this.base[key].value) as Values[K];
  }

  /** Each setting with its value, its source and the value without the override. */
  async describe(): Promise<SettingsResponse['runtime']> {
    await this.fresh();
    const entries = (Object.keys(RUNTIME_SETTINGS) as RuntimeSettingKey[]).map((key) => {
      const { envName, description } = RUNTIME_SETTINGS[key];
      const override = this.overrides[key];
      const base = this.base[key];
      return [
        key,
        {
          envName,
          description,
          value: override?.value ?? base.value,
          source: override ? ('runtime' as const) : base.source,
          baseValue: base.value,
          baseSource: base.source,
          updatedAt: override?.updatedAt.toISOString() ?? null,
        },
      ] as const;
    });
    return Object.fromEntries(entries) as SettingsResponse['runtime'];
  }

  /** Sets (a value) or removes (null) overrides, all or none; applies here at once. */
  async update(patch: { [K in RuntimeSettingKey]?: Values[K] | null }): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const key of Object.keys(patch) as RuntimeSettingKey[]) {
        const value = patch[key];
        if (value === undefined) continue;
        if (value === null) {
          await tx.query('DELETE FROM system.runtime_settings WHERE name = $1', [key]);
        } else {
          await tx.query(
            `INSERT INTO system.runtime_settings (name, value) VALUES ($1, $2::jsonb)
             ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
            [key, JSON.stringify(value)],
          );
        }
      }
    });
    this.loadedAt = 0;
    await this.loading?.catch(() => undefined);
    await this.fresh();
  }

  /** Reads the overrides now (createApp calls it once, so a broken table fails the start). */
  async load(): Promise<void> {
    const { rows } = await this.db.query<{ name: string; value: unknown; updated_at: Date }>(
      'SELECT name, value, updated_at FROM system.runtime_settings',
    );
    const next: Record<string, Override<unknown>> = {};
    for (const row of rows) {
      const declared = (RUNTIME_SETTINGS as Record<string, { schema: z.ZodType }>)[row.name];
      const parsed = declared?.schema.safeParse(row.value);
      if (!parsed?.success) {
        this.options.logger?.warn('ignoring an unusable runtime setting', { name: row.name });
        continue;
      }
      next[row.name] = { value: parsed.data, updatedAt: row.updated_at };
    }
    this.overrides = next as Overrides;
    this.loadedAt = Date.now();
  }

  private async fresh(): Promise<void> {
    if (Date.now() - this.loadedAt <= (this.options.ttlMs ?? CACHE_TTL_MS)) return;
    this.loading ??= this.load()
      .catch((err: unknown) => {
        // Keep serving what was read last; try again after one period.
        this.loadedAt = Date.now();
        this.options.logger?.warn('runtime settings re-read failed', { error: String(err) });
      })
      .finally(() => {
        this.loading = undefined;
      });
    await this.loading;
  }
}
