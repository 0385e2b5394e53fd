/**
 * The keys access tokens are signed with. `JWT_ALGORITHM=HS256` (the default, as before): the
 * shared secret JWT_SECRET, nothing to publish. `ES256` / `RS256`: a key pair generated on first
 * start and kept in system.signing_keys (the private key sealed with the SecretBox), shared by
 * every instance; each token names its key in the header (`kid`) and the public keys are
 * published as a JWK Set, so other services verify Kiln's tokens without any secret.
 *
 * Rotation: a new key signs from then on; the previous one keeps verifying, and stays published,
 * for an overlap window, then is gone. Instances learn of changes through the `kiln_credentials`
 * notification (migration 0039) and re-read the table; a token naming a key this instance does
 * not know also triggers a re-read (at most once a second).
 */
import crypto from 'node:crypto';
import type pg from 'pg';
import { calculateJwkThumbprint, type JWK, type JWTHeaderParameters } from 'jose';
import type { Database } from '../db.js';
import type { SecretBox } from '../crypto.js';
import { AppError } from '../errors.js';

export type JwtAlgorithm = 'HS256' | 'ES256' | 'RS256';
export type AsymmetricAlgorithm = Exclude<JwtAlgorithm, 'HS256'>;

/** A published key: the public JWK with `kid`, `alg` and `use`. */
export type PublishedJwk = JWK & {
  kty: 'EC' | 'RSA';
  kid: string;
  alg: AsymmetricAlgorithm;
  use: 'sig';
};

interface LiveKey {
  kid: string;
  algorithm: AsymmetricAlgorithm;
  publicJwk: PublishedJwk;
  publicKey: crypto.KeyObject;
  /** Only the signing key's private half is opened. */
  sealedPrivateKey: string;
  /** null: the signing key; else when it stops verifying (epoch ms). */
  expiresAt: number | null;
}

/** How long the key list is trusted from memory without a notification (safety net). */
const CACHE_TTL_MS = 30_000;
/** A token naming an unknown key triggers a re-read at most this often. */
const MISS_RELOAD_MS = 1_000;

async function newKeyPair(algorithm: AsymmetricAlgorithm): Promise<{
  kid: string;
  publicJwk: PublishedJwk;
  privatePem: string;
}> {
  const { publicKey, privateKey } =
    algorithm === 'ES256'
      ? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' }) as JWK & { kty: 'EC' | 'RSA' };
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return {
    kid,
    publicJwk: { ...jwk, kid, alg: algorithm, use: 'sig' },
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
  };
}

async function insertKey(
  client: pg.ClientBase,
  box: SecretBox,
  algorithm: AsymmetricAlgorithm,
): Promise<string> {
  const { kid, publicJwk, privatePem } = await newKeyPair(algorithm);
  await client.query(
    `INSERT INTO system.signing_keys (kid, algorithm, public_jwk, private_key_sealed)
     VALUES ($1, $2, $3, $4)`,
    [kid, algorithm, JSON.stringify(publicJwk), box.encrypt(privatePem)],
  );
  return kid;
}

/**
 * First start (under the bootstrap lock): makes sure a signing key of the configured algorithm
 * exists. Nothing to do for HS256.
 */
export async function ensureSigningKey(
  client: pg.ClientBase,
  box: SecretBox,
  algorithm: JwtAlgorithm,
): Promise<void> {
  // Keys past their overlap window verify nothing: gone at every start (and every rotation).
  await client.query(`DELETE FROM system.signing_keys WHERE expires_at <= now()`);
  if (algorithm === 'HS256') return;
  const { rowCount } = await client.query(
    `SELECT 1 FROM system.signing_keys WHERE algorithm = $1 AND retired_at IS NULL`,
    [algorithm],
  );
  if (!rowCount) await insertKey(client, box, algorithm);
}

export interface SigningKey {
  alg: JwtAlgorithm;
  kid?: string;
  key: crypto.KeyObject | Uint8Array;
}

export class SigningKeys {
  private readonly secret: Uint8Array;
  private live = new Map<string, LiveKey>();
  private loadedAt = 0;
  /** Whether the keys were ever read (a failed re-read then keeps them: `fresh`). */
  private loaded = false;
  private loading: Promise<void> | undefined;
  private signing: { kid: string; key: crypto.KeyObject } | undefined;

  /** `store`: where the key pairs live (not needed under HS256). */
  constructor(
    readonly algorithm: JwtAlgorithm,
    secret: string,
    private readonly store?: { db: Database; box: SecretBox },
  ) {
    if (algorithm !== 'HS256' && !store) throw new Error(`${algorithm} keys need a database`);
    this.secret = new TextEncoder().encode(secret);
  }

  private get db(): Database {
    return this.store!.db;
  }

  private get box(): SecretBox {
    return this.store!.box;
  }

  /** The algorithms a token of this instance may be signed with. */
  get algorithms(): JwtAlgorithm[] {
    return this.algorithm === 'HS256' ? ['HS256'] : ['ES256', 'RS256'];
  }

  /** The key new tokens are signed with. */
  async signingKey(): Promise<SigningKey> {
    if (this.algorithm === 'HS256') return { alg: 'HS256', key: this.secret };
    await this.fresh();
    let active = [...this.live.values()].find(
      (k) => k.algorithm === this.algorithm && k.expiresAt === null,
    );
    if (!active) {
      // Another instance rotated a moment ago and the notification is still on its way.
      await this.reload();
      active = [...this.live.values()].find(
        (k) => k.algorithm === this.algorithm && k.expiresAt === null,
      );
    }
    if (!active) throw new Error(`No ${this.algorithm} signing key (system.signing_keys)`);
    if (this.signing?.kid !== active.kid) {
      this.signing = {
        kid: active.kid,
        key: crypto.createPrivateKey(this.box.decrypt(active.sealedPrivateKey)),
      };
    }
    return { alg: this.algorithm, kid: active.kid, key: this.signing.key };
  }

  /**
   * The key a token's header names, for jose's `jwtVerify`: the secret under HS256, else a live
   * published key of the header's algorithm. Throws for anything else (refused as invalid).
   */
  readonly verificationKey = async (
    header: JWTHeaderParameters,
  ): Promise<crypto.KeyObject | Uint8Array> => {
    if (this.algorithm === 'HS256') {
      if (header.alg !== 'HS256') throw new Error('unexpected algorithm');
      return this.secret;
    }
    const key = await this.find(header.kid);
    if (!key || key.algorithm !== header.alg) throw new Error('unknown signing key');
    return key.publicKey;
  };

  /** True when the token header names a key this project signs with (or signed with, in overlap). */
  async knows(header: { alg?: string; kid?: string }): Promise<boolean> {
    if (this.algorithm === 'HS256') return header.alg === 'HS256';
    return (await this.find(header.kid)) !== undefined;
  }

  /** Whether a key that verified a token still verifies (a cached result is dropped otherwise). */
  async stillVerifies(kid: string | undefined): Promise<boolean> {
    if (this.algorithm !== 'HS256') await this.fresh();
    return this.isLive(kid);
  }

  /**
   * Whether a key still verifies, from what is loaded now (no refresh): for shortcuts that a
   * later `stillVerifies` confirms.
   */
  isLiveNow(kid: string | undefined): boolean {
    return this.isLive(kid);
  }

  private isLive(kid: string | undefined): boolean {
    if (this.algorithm === 'HS256') return kid === undefined;
    if (kid === undefined) return false;
    const key = this.live.get(kid);
    return key !== undefined && (key.expiresAt === null || key.expiresAt > Date.now());
  }

  /** Every stored key that still verifies (any algorithm), for admins: no key material. */
  async list(): Promise<
    Array<{
      kid: string;
      algorithm: AsymmetricAlgorithm;
      signing: boolean;
      createdAt: string;
      retiredAt: string | null;
      expiresAt: string | null;
    }>
  > {
    if (!this.store) return [];
    const { rows } = await this.db.query<{
      kid: string;
      algorithm: AsymmetricAlgorithm;
      created_at: Date;
      retired_at: Date | null;
      expires_at: Date | null;
    }>(
      `SELECT kid, algorithm, created_at, retired_at, expires_at FROM system.signing_keys
        WHERE expires_at IS NULL OR expires_at > now()
        ORDER BY retired_at DESC NULLS FIRST, created_at DESC`,
    );
    return rows.map((r) => ({
      kid: r.kid,
      algorithm: r.algorithm,
      signing: r.retired_at === null && r.algorithm === this.algorithm,
      createdAt: r.created_at.toISOString(),
      retiredAt: r.retired_at?.toISOString() ?? null,
      expiresAt: r.expires_at?.toISOString() ?? null,
    }));
  }

  /** The published keys: the signing key and those still in their overlap window. */
  async jwks(): Promise<{ keys: PublishedJwk[] }> {
    if (this.algorithm === 'HS256') return { keys: [] };
    await this.fresh();
    const now = Date.now();
    return {
      keys: [...this.live.values()]
        .filter((k) => k.expiresAt === null || k.expiresAt > now)
        .sort((a, b) => (a.expiresAt ?? Infinity) - (b.expiresAt ?? Infinity))
        .reverse()
        .map((k) => k.publicJwk),
    };
  }

  /**
   * A new key of the configured algorithm signs from now on; the previous one keeps verifying
   * for `overlapSeconds` (0: refused at once).
   */
  async rotate(overlapSeconds: number): Promise<{
    kid: string;
    algorithm: AsymmetricAlgorithm;
    previousKid: string | null;
    previousValidUntil: Date | null;
  }> {
    const algorithm = this.algorithm;
    if (algorithm === 'HS256') {
      throw new AppError(
        409,
        'AUTH_SIGNING_KEY_NOT_ROTATABLE',
        'Access tokens are signed with JWT_SECRET (JWT_ALGORITHM=HS256): there is no key pair to rotate',
        'Set JWT_ALGORITHM=ES256 or RS256 to sign with a published key pair',
      );
    }
    const result = await this.db.transaction(async (tx) => {
      await tx.query(`LOCK TABLE system.signing_keys IN SHARE ROW EXCLUSIVE MODE`);
      const { rows } = await tx.query<{ kid: string; expires_at: Date }>(
        `UPDATE system.signing_keys
            SET retired_at = now(), expires_at = now() + make_interval(secs => $2)
          WHERE algorithm = $1 AND retired_at IS NULL
          RETURNING kid, expires_at`,
        [algorithm, overlapSeconds],
      );
      const kid = await insertKey(tx, this.box, algorithm);
      // Keys past their window verify nothing any more.
      await tx.query(`DELETE FROM system.signing_keys WHERE expires_at <= now()`);
      return {
        kid,
        algorithm,
        previousKid: rows[0]?.kid ?? null,
        previousValidUntil: rows[0]?.expires_at ?? null,
      };
    });
    await this.refresh();
    return result;
  }

  invalidate(): void {
    this.loadedAt = 0;
  }

  /** Re-reads the keys now (a change was announced). */
  async refresh(): Promise<void> {
    this.invalidate();
    await this.loading?.catch(() => undefined);
    await this.reload();
  }

  private async find(kid: string | undefined): Promise<LiveKey | undefined> {
    if (!kid) return undefined;
    await this.fresh();
    if (!this.isLive(kid) && Date.now() - this.loadedAt > MISS_RELOAD_MS) await this.reload();
    return this.isLive(kid) ? this.live.get(kid) : undefined;
  }

  private async fresh(): Promise<void> {
    if (Date.now() - this.loadedAt <= CACHE_TTL_MS) return;
    // A periodic re-read that fails (PostgreSQL restarting, a point-in-time restore under way)
    // keeps the keys read last verifying rather than failing every request; with nothing read
    // yet the error stands.
    await this.reload().catch((err: unknown) => {
      if (!this.loaded) throw err;
    });
  }

  private reload(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const { rows } = await this.db.query<{
          kid: string;
          algorithm: AsymmetricAlgorithm;
          public_jwk: PublishedJwk;
          private_key_sealed: string;
          expires_at: Date | null;
        }>(
          `SELECT kid, algorithm, public_jwk, private_key_sealed, expires_at
             FROM system.signing_keys
            WHERE expires_at IS NULL OR expires_at > now()`,
        );
        const live = new Map<string, LiveKey>();
        for (const r of rows) {
          live.set(r.kid, {
            kid: r.kid,
            algorithm: r.algorithm,
            publicJwk: r.public_jwk,
            publicKey: crypto.createPublicKey({ key: r.public_jwk, format: 'jwk' }),
            sealedPrivateKey: r.private_key_sealed,
            expiresAt: r.expires_at ? r.expires_at.getTime() : null,
          });
        }
        this.live = live;
        this.loadedAt = Date.now();
        this.loaded = true;
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }
}
