import crypto from 'node:crypto';
import type pg from 'pg';
import type { Database } from '../db.js';
import { sha256, type SecretBox } from '../crypto.js';

export type KeyKind = 'anon' | 'api';

const PREFIX: Record<KeyKind, string> = { anon: 'anon_', api: 'ik_' };
const FORMAT: Record<KeyKind, RegExp> = { anon: /^anon_[0-9a-f]{64}$/, api: /^ik_[0-9a-f]{64}$/ };

export function generateKey(kind: KeyKind): string {
  return PREFIX[kind] + crypto.randomBytes(32).toString('hex');
}

export function looksLikeKey(kind: KeyKind, value: string): boolean {
  return FORMAT[kind].test(value);
}

/**
 * Makes sure one active key of each kind exists. A key given in the environment becomes the
 * active key (the previous one stops working); otherwise one is generated on first start.
 */
export async function ensureProjectKeys(
  client: pg.ClientBase,
  box: SecretBox,
  fromEnv: Partial<Record<KeyKind, string>>,
): Promise<void> {
  for (const kind of ['anon', 'api'] as const) {
    const wanted = fromEnv[kind];
    const { rows } = await client.query<{ key_hash: Buffer }>(
      `SELECT key_hash FROM system.api_keys WHERE kind = $1 AND expires_at IS NULL`,
      [kind],
    );
    const active = rows[0];
    if (wanted) {
      const wantedHash = sha256(wanted);
      if (active && crypto.timingSafeEqual(active.key_hash, wantedHash)) continue;
      await client.query(
        `UPDATE system.api_keys SET expires_at = now() WHERE kind = $1 AND expires_at IS NULL`,
        [kind],
      );
      await client.query(
        `INSERT INTO system.api_keys (kind, key_hash, encrypted_key) VALUES ($1, $2, $3)
         ON CONFLICT (key_hash) DO UPDATE SET expires_at = NULL`,
        [kind, wantedHash, box.encrypt(wanted)],
      );
    } else if (!active) {
      const key = generateKey(kind);
      await client.query(
        `INSERT INTO system.api_keys (kind, key_hash, encrypted_key) VALUES ($1, $2, $3)`,
        [kind, sha256(key), box.encrypt(key)],
      );
    }
  }
}

interface CachedKey {
  kind: KeyKind;
  hash: Buffer;
  expiresAt: number | null;
}

/** How long verified keys are trusted from memory before re-reading the table. */
const CACHE_TTL_MS = 5_000;
/** A key not in the cache triggers a reload at most this often (new keys from other instances). */
const MISS_RELOAD_MS = 1_000;

/**
 * The project's anon and API keys. Stored as SHA-256 digests (for lookup) plus AES-GCM
 * ciphertext (to show admins); verified against a short-lived cache in constant time, so every
 * instance sees rotations within seconds without a query per request.
 */
export class KeyStore {
  private cache: CachedKey[] = [];
  private loadedAt = 0;
  /** Whether the keys were ever read (a failed re-read then keeps them: see `staleOk`). */
  private loaded = false;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly db: Database,
    private readonly box: SecretBox,
  ) {}

  /** The current key of a kind, decrypted. */
  async getActive(kind: KeyKind): Promise<string> {
    const { rows } = await this.db.query<{ encrypted_key: string }>(
      `SELECT encrypted_key FROM system.api_keys WHERE kind = $1 AND expires_at IS NULL`,
      [kind],
    );
    const row = rows[0];
    if (!row) throw new Error(`No active ${kind} key`);
    return this.box.decrypt(row.encrypted_key);
  }

  /**
   * Replaces the active key with a new one. The old key keeps working for `graceSeconds`
   * (0 revokes it at once). Returns the new key.
   */
  async rotate(
    kind: KeyKind,
    graceSeconds: number,
  ): Promise<{ key: string; previousValidUntil: Date | null }> {
    const key = generateKey(kind);
    const previousValidUntil = await this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ expires_at: Date }>(
        `UPDATE system.api_keys SET expires_at = now() + make_interval(secs => $2)
         WHERE kind = $1 AND expires_at IS NULL RETURNING expires_at`,
        [kind, graceSeconds],
      );
      await tx.query(
        `INSERT INTO system.api_keys (kind, key_hash, encrypted_key) VALUES ($1, $2, $3)`,
        [kind, sha256(key), this.box.encrypt(key)],
      );
      // Keys whose grace ended long ago are of no further use.
      await tx.query(`DELETE FROM system.api_keys WHERE expires_at < now() - interval '30 days'`);
      return rows[0]?.expires_at ?? null;
    });
    this.invalidate();
    return { key, previousValidUntil };
  }

  /** True when `presented` is a currently valid key of `kind`. Constant time per stored key. */
  async verify(kind: KeyKind, presented: string): Promise<boolean> {
    if (!looksLikeKey(kind, presented)) return false;
    const digest = sha256(presented);
    if (Date.now() - this.loadedAt > CACHE_TTL_MS) await this.reload().catch(this.staleOk);
    if (this.matches(kind, digest)) return true;
    if (Date.now() - this.loadedAt > MISS_RELOAD_MS) {
      await this.reload();
      return this.matches(kind, digest);
    }
    return false;
  }

  invalidate(): void {
    this.loadedAt = 0;
  }

  /**
   * A periodic re-read failed (PostgreSQL restarting, a point-in-time restore under way): the keys
   * read last keep verifying, as RuntimeSettings keeps its values, rather than every request
   * failing; with nothing read yet the error stands. No change can be made meanwhile anyway.
   */
  private readonly staleOk = (err: unknown): void => {
    if (!this.loaded) throw err;
  };

  /**
   * Re-reads the keys now (the database announced a change): a read already under way may
   * predate the change, so a fresh one follows it.
   */
  async refresh(): Promise<void> {
    this.invalidate();
    await this.loading?.catch(() => undefined);
    await this.reload();
  }

  /** When the next key that works now stops working (epoch ms), as far as this instance knows. */
  nextExpiry(): number | undefined {
    const now = Date.now();
    let next: number | undefined;
    for (const key of this.cache) {
      if (
        key.expiresAt !== null &&
        key.expiresAt > now &&
        (next === undefined || key.expiresAt < next)
      )
        next = key.expiresAt;
    }
    return next;
  }

  private matches(kind: KeyKind, digest: Buffer): boolean {
    const now = Date.now();
    let found = false;
    for (const key of this.cache) {
      const equal = crypto.timingSafeEqual(key.hash, digest);
      if (equal && key.kind === kind && (key.expiresAt === null || key.expiresAt > now))
        found = true;
    }
    return found;
  }

  private reload(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const { rows } = await this.db.query<{
          kind: KeyKind;
          key_hash: Buffer;
          expires_at: Date | null;
        }>(
          `SELECT kind, key_hash, expires_at FROM system.api_keys
           WHERE expires_at IS NULL OR expires_at > now()`,
        );
        this.cache = rows.map((r) => ({
          kind: r.kind,
          hash: r.key_hash,
          expiresAt: r.expires_at ? r.expires_at.getTime() : null,
        }));
        this.loadedAt = Date.now();
        this.loaded = true;
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }
}
