/**
 * Secrets for edge functions: rows of `system.secrets`, values sealed with AES-256-GCM. Functions
 * see the active, unexpired ones as environment variables, plus the reserved values Kiln provides
 * itself, which are listed but cannot be changed or deleted here: the project URL and anon key
 * for every function, the project API key (admin over everything) only for a function whose
 * `apiKeyAccess` is on. A function acts as its caller with the caller's Authorization header.
 */
import type pg from 'pg';
import type { SecretResponse, SecretSummary } from '@kiln/shared-schemas';
import type { Database } from '../core/db.js';
import { AppError } from '../core/errors.js';
import { PG, pgCode } from '../core/sql.js';
import type { SecretBox } from '../core/crypto.js';

export const RESERVED_SECRETS = [
  'INSFORGE_BASE_URL',
  'INSFORGE_INTERNAL_URL',
  'ANON_KEY',
  'API_KEY',
] as const;
export type ReservedSecret = (typeof RESERVED_SECRETS)[number];
const reserved = new Set<string>(RESERVED_SECRETS);

interface SecretRow {
  key: string;
  value_encrypted: string;
  is_active: boolean;
  expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export function maskSecret(value: string): string {
  return value.length >= 12 ? `••••••••${value.slice(-4)}` : '••••••••';
}

const notFound = (key: string) =>
  new AppError(
    404,
    'SECRET_NOT_FOUND',
    `No secret named "${key}"`,
    'List secrets with GET /api/secrets',
  );

const reservedError = (key: string) =>
  new AppError(
    403,
    'SECRET_RESERVED',
    `"${key}" is reserved: Kiln provides it to functions and it cannot be changed or deleted`,
  );

export class SecretsService {
  constructor(
    private readonly db: Database,
    private readonly box: SecretBox,
    /** The live values of the reserved names. */
    private readonly reservedValues: () => Promise<Record<ReservedSecret, string>>,
  ) {}

  async list(): Promise<SecretSummary[]> {
    const [{ rows }, setUp] = await Promise.all([
      this.db.query<SecretRow>('SELECT * FROM system.secrets ORDER BY key'),
      // The reserved values exist since the project was set up (its first migration).
      this.db.query<{ at: Date | null }>('SELECT min(run_on) AS at FROM system.migrations'),
    ]);
    const builtIn = await this.reservedValues();
    const since = (setUp.rows[0]?.at ?? new Date(0)).toISOString();
    return [
      ...RESERVED_SECRETS.map((key) => ({
        id: key,
        key,
        maskedValue: maskSecret(builtIn[key]),
        isActive: true as const,
        isReserved: true as const,
        lastUsedAt: null,
        expiresAt: null,
        createdAt: since,
        updatedAt: since,
      })),
      ...rows.map((r) => ({
        id: r.key,
        key: r.key,
        ...this.readable(r),
        lastUsedAt: null,
        isActive: r.is_active,
        isReserved: false as const,
        expiresAt: r.expires_at?.toISOString() ?? null,
        createdAt: r.created_at.toISOString(),
        updatedAt: r.updated_at.toISOString(),
      })),
    ];
  }

  async get(key: string): Promise<SecretResponse> {
    if (reserved.has(key)) {
      return {
        key,
        value: (await this.reservedValues())[key as ReservedSecret],
        isReserved: true,
      };
    }
    const { rows } = await this.db.query<SecretRow>('SELECT * FROM system.secrets WHERE key = $1', [
      key,
    ]);
    const r = rows[0];
    if (!r) throw notFound(key);
    return {
      key: r.key,
      value: this.openOrFail(r),
      isActive: r.is_active,
      isReserved: false as const,
      expiresAt: r.expires_at?.toISOString() ?? null,
      createdAt: r.created_at.toISOString(),
      updatedAt: r.updated_at.toISOString(),
    };
  }

  async create(input: { key: string; value: string; expiresAt?: string | null }): Promise<void> {
    if (reserved.has(input.key)) throw reservedError(input.key);
    try {
      await this.db.query(
        'INSERT INTO system.secrets (key, value_encrypted, expires_at) VALUES ($1, $2, $3)',
        [input.key, this.box.encrypt(input.value), input.expiresAt ?? null],
      );
    } catch (err) {
      if (pgCode(err) === PG.uniqueViolation) {
        throw new AppError(
          409,
          'SECRET_EXISTS',
          `A secret named "${input.key}" exists already`,
          `Change it with PUT /api/secrets/${input.key}`,
        );
      }
      throw err;
    }
  }

  async update(
    key: string,
    input: { value?: string; isActive?: boolean; expiresAt?: string | null },
  ): Promise<void> {
    if (reserved.has(key)) throw reservedError(key);
    const { rowCount } = await this.db.query(
      `UPDATE system.secrets SET
         value_encrypted = coalesce($2, value_encrypted),
         is_active = coalesce($3, is_active),
         expires_at = CASE WHEN $4 THEN $5::timestamptz ELSE expires_at END
       WHERE key = $1`,
      [
        key,
        input.value === undefined ? null : this.box.encrypt(input.value),
        input.isActive ?? null,
        input.expiresAt !== undefined,
        input.expiresAt ?? null,
      ],
    );
    if (!rowCount) throw notFound(key);
  }

  async delete(key: string): Promise<void> {
    if (reserved.has(key)) throw reservedError(key);
    const { rowCount } = await this.db.query('DELETE FROM system.secrets WHERE key = $1', [key]);
    if (!rowCount) throw notFound(key);
  }

  /** What a function's environment holds: active, unexpired secrets and the reserved values. */
  /** The plain value, or undefined when it cannot be decrypted with the current key. */
  private open(r: Pick<SecretRow, 'value_encrypted'>): string | undefined {
    try {
      return this.box.decrypt(r.value_encrypted);
    } catch {
      return undefined;
    }
  }

  private openOrFail(r: SecretRow): string {
    const value = this.open(r);
    if (value === undefined)
      throw new AppError(
        409,
        'SECRET_UNREADABLE',
        `Secret "${r.key}" was sealed with another encryption key`,
        'Set ENCRYPTION_KEY_PREVIOUS to that key and restart, or set the secret again',
      );
    return value;
  }

  private readable(r: SecretRow): { maskedValue: string; unreadable?: true } {
    const value = this.open(r);
    return value === undefined
      ? { maskedValue: '(unreadable: sealed with another key)', unreadable: true }
      : { maskedValue: maskSecret(value) };
  }

  /**
   * One function's environment. `apiKey`: the function opted in to the project API key
   * (`apiKeyAccess`); without it API_KEY is absent, whatever else the function is given.
   */
  async environment(access: { apiKey: boolean }): Promise<Record<string, string>> {
    const { rows } = await this.db.query<SecretRow>(
      `SELECT key, value_encrypted FROM system.secrets
        WHERE is_active AND (expires_at IS NULL OR expires_at > now())`,
    );
    const env: Record<string, string> = {};
    // A value sealed with a key Kiln no longer has is left out (and said so once per start),
    // rather than stopping every function.
    for (const r of rows) {
      const value = this.open(r);
      if (value !== undefined) env[r.key] = value;
    }
    const { API_KEY, ...builtIn } = await this.reservedValues();
    return { ...env, ...builtIn, ...(access.apiKey ? { API_KEY } : {}) };
  }
}

/**
 * Key rotation: values sealed with the previous key (ENCRYPTION_KEY_PREVIOUS) are re-sealed
 * with the current one, secrets, project keys and schedules' headers alike, in one transaction.
 * Returns how many values changed. Values that open with neither key are left alone and reported.
 */
export async function resealSecrets(
  client: pg.ClientBase,
  current: SecretBox,
  previous: SecretBox,
): Promise<{ resealed: number; unreadable: number }> {
  let resealed = 0;
  let unreadable = 0;
  await client.query('BEGIN');
  try {
    for (const [table, keyColumn, valueColumn] of [
      ['system.secrets', 'key', 'value_encrypted'],
      ['system.api_keys', 'id', 'encrypted_key'],
      // A schedule's headers (jobs/schedules.ts), NULL when it has none.
      ['jobs.schedules', 'id', 'headers_sealed'],
      // The access token signing keys' private halves (core/auth/signing-keys.ts).
      ['system.signing_keys', 'kid', 'private_key_sealed'],
      // An incoming webhook endpoint's secret (webhooks/service.ts).
      ['system.incoming_webhooks', 'name', 'secret_sealed'],
    ] as const) {
      const { rows } = await client.query<Record<string, string>>(
        `SELECT ${keyColumn} AS k, ${valueColumn} AS v FROM ${table} WHERE ${valueColumn} IS NOT NULL FOR UPDATE`,
      );
      for (const row of rows) {
        try {
          current.decrypt(row.v!);
          continue;
        } catch {
          /* not sealed with the current key */
        }
        let plain: string;
        try {
          plain = previous.decrypt(row.v!);
        } catch {
          unreadable++;
          continue;
        }
        await client.query(`UPDATE ${table} SET ${valueColumn} = $2 WHERE ${keyColumn} = $1`, [
          row.k,
          current.encrypt(plain),
        ]);
        resealed++;
      }
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
  return { resealed, unreadable };
}
