/**
 * Password hashes brought from another system (POST /api/auth/users/import), kept as they are
 * until the user's next successful sign-in replaces them with Kiln's argon2id.
 *
 * The formats (the stored string tells which):
 * - bcrypt: `$2a$`, `$2b$`, `$2y$` + two-digit cost (4–14) + 53 characters of salt and hash.
 * - argon2: PHC strings `$argon2id$v=19$m=…,t=…,p=…$salt$hash` (and `$argon2i$`); at most
 *   256 MiB of memory, 16 passes, 16 lanes.
 * - scrypt: `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>`, salt and hash in base64 (standard
 *   or passlib's `.` for `+`, padding optional); the salt is its decoded bytes, the key length
 *   that of the hash (16–128 bytes); ln at most 20 and 128·N·r at most 256 MiB.
 * - PBKDF2-SHA256: Django's `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>` (the salt used as
 *   its UTF-8 text) and passlib's PHC-like `$pbkdf2-sha256$<iterations>$<salt>$<hash>` (salt and
 *   hash in passlib's base64); at most 2,000,000 iterations.
 *
 * The limits keep an imported hash from costing more than a few hundred milliseconds of CPU (or
 * a large amount of memory) at each sign-in attempt; a string outside them is refused at import.
 */
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';

export type HashAlgorithm = 'argon2id' | 'argon2i' | 'bcrypt' | 'scrypt' | 'pbkdf2-sha256';

export const IMPORT_LIMITS = {
  bcryptMaxCost: 14,
  argon2MaxMemoryKiB: 256 * 1024,
  argon2MaxPasses: 16,
  argon2MaxLanes: 16,
  scryptMaxLn: 20,
  scryptMaxMemoryBytes: 256 * 1024 * 1024,
  pbkdf2MaxIterations: 2_000_000,
} as const;

type Parsed =
  | { kind: 'argon2'; algorithm: 'argon2id' | 'argon2i' }
  | { kind: 'bcrypt'; stored: string }
  | { kind: 'scrypt'; n: number; r: number; p: number; salt: Buffer; hash: Buffer }
  | { kind: 'pbkdf2'; iterations: number; salt: Buffer; hash: Buffer };

/** Standard base64 or passlib's variant (`.` for `+`), padding optional; undefined if neither. */
function b64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/.]+={0,2}$/.test(text)) return undefined;
  const buf = Buffer.from(text.replace(/\./g, '+'), 'base64');
  return buf.length ? buf : undefined;
}

const int = (text: string | undefined) =>
  text !== undefined && /^\d{1,10}$/.test(text) ? Number(text) : NaN;

/** The hash's format and parameters, or why it is not one Kiln verifies (in words). */
export function parseHash(
  stored: string,
): { ok: true; algorithm: HashAlgorithm; parsed: Parsed } | { ok: false; reason: string } {
  const fail = (reason: string) => ({ ok: false as const, reason });
  if (stored.length > 1024) return fail('is longer than 1024 characters');

  const argon =
    /^\$(argon2id|argon2i)\$(?:v=(\d+)\$)?m=(\d+),t=(\d+),p=(\d+)\$([^$]+)\$([^$]+)$/.exec(stored);
  if (argon) {
    const [, algorithm, version, m, t, p, salt, hash] = argon;
    if (version !== undefined && version !== '19' && version !== '16') {
      return fail(`argon2 version v=${version} is not 16 or 19`);
    }
    if (!(int(m) >= 8 && int(m) <= IMPORT_LIMITS.argon2MaxMemoryKiB)) {
      return fail(`argon2 memory m=${m} KiB is outside 8–${IMPORT_LIMITS.argon2MaxMemoryKiB}`);
    }
    if (!(int(t) >= 1 && int(t) <= IMPORT_LIMITS.argon2MaxPasses)) {
      return fail(`argon2 passes t=${t} is outside 1–${IMPORT_LIMITS.argon2MaxPasses}`);
    }
    if (!(int(p) >= 1 && int(p) <= IMPORT_LIMITS.argon2MaxLanes)) {
      return fail(`argon2 lanes p=${p} is outside 1–${IMPORT_LIMITS.argon2MaxLanes}`);
    }
    const s = b64(salt!);
    const h = b64(hash!);
    if (!s || s.length < 8) return fail('argon2 salt is not base64 of at least 8 bytes');
    if (!h || h.length < 4) return fail('argon2 hash is not base64 of at least 4 bytes');
    return {
      ok: true,
      algorithm: algorithm as 'argon2id' | 'argon2i',
      parsed: { kind: 'argon2', algorithm: algorithm as 'argon2id' | 'argon2i' },
    };
  }
  if (stored.startsWith('$argon2')) {
    return fail('is not an argon2id or argon2i PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash)');
  }

  const bc = /^\$2([aby])\$(\d{2})\$([./A-Za-z0-9]{53})$/.exec(stored);
  if (bc) {
    const cost = Number(bc[2]);
    if (cost < 4 || cost > IMPORT_LIMITS.bcryptMaxCost) {
      return fail(`bcrypt cost ${bc[2]} is outside 04–${IMPORT_LIMITS.bcryptMaxCost}`);
    }
    // $2y$ (PHP) is the same algorithm as $2b$.
    return {
      ok: true,
      algorithm: 'bcrypt',
      parsed: { kind: 'bcrypt', stored: `$2${bc[1] === 'y' ? 'b' : bc[1]}$${bc[2]}$${bc[3]}` },
    };
  }
  if (/^\$2[a-z]?\$/.test(stored)) {
    return fail('is not a bcrypt hash ($2a$, $2b$ or $2y$, a two-digit cost, 53 characters)');
  }

  const sc = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([^$]+)\$([^$]+)$/.exec(stored);
  if (sc) {
    const [ln, r, p] = [int(sc[1]), int(sc[2]), int(sc[3])];
    if (!(ln >= 1 && ln <= IMPORT_LIMITS.scryptMaxLn)) {
      return fail(`scrypt ln=${sc[1]} is outside 1–${IMPORT_LIMITS.scryptMaxLn}`);
    }
    if (!(r >= 1 && r <= 32) || !(p >= 1 && p <= 16)) {
      return fail('scrypt r must be 1–32 and p 1–16');
    }
    if (128 * 2 ** ln * r > IMPORT_LIMITS.scryptMaxMemoryBytes) {
      return fail('scrypt needs more than 256 MiB of memory (128·N·r)');
    }
    const salt = b64(sc[4]!);
    const hash = b64(sc[5]!);
    if (!salt) return fail('scrypt salt is not base64');
    if (!hash || hash.length < 16 || hash.length > 128) {
      return fail('scrypt hash is not base64 of 16–128 bytes');
    }
    return {
      ok: true,
      algorithm: 'scrypt',
      parsed: { kind: 'scrypt', n: 2 ** ln, r, p, salt, hash },
    };
  }
  if (stored.startsWith('$scrypt$')) {
    return fail('is not a scrypt string ($scrypt$ln=…,r=…,p=…$salt$hash)');
  }

  const django = /^pbkdf2_sha256\$(\d+)\$([^$]+)\$([^$]+)$/.exec(stored);
  const phc = /^\$pbkdf2-sha256\$(\d+)\$([^$]+)\$([^$]+)$/.exec(stored);
  if (django || phc) {
    const m = (django ?? phc)!;
    const iterations = int(m[1]);
    if (!(iterations >= 1 && iterations <= IMPORT_LIMITS.pbkdf2MaxIterations)) {
      return fail(`PBKDF2 iterations ${m[1]} is outside 1–${IMPORT_LIMITS.pbkdf2MaxIterations}`);
    }
    const salt = django ? Buffer.from(m[2]!, 'utf8') : b64(m[2]!);
    const hash = b64(m[3]!);
    if (!salt) return fail('PBKDF2 salt is not base64');
    if (!hash || hash.length < 16 || hash.length > 64) {
      return fail('PBKDF2 hash is not base64 of 16–64 bytes');
    }
    return {
      ok: true,
      algorithm: 'pbkdf2-sha256',
      parsed: { kind: 'pbkdf2', iterations, salt, hash },
    };
  }
  if (/^\$?pbkdf2/.test(stored)) {
    return fail(
      'is not a PBKDF2-SHA256 string (pbkdf2_sha256$iterations$salt$hash or $pbkdf2-sha256$…)',
    );
  }
  return fail('is not a bcrypt, argon2id/argon2i, scrypt or PBKDF2-SHA256 hash Kiln recognises');
}

const scrypt = promisify(crypto.scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: crypto.ScryptOptions,
) => Promise<Buffer>;
const pbkdf2 = promisify(crypto.pbkdf2);

/**
 * Checks a password against a non-argon2 hash (bcrypt, scrypt, PBKDF2); false for anything it
 * cannot parse. argon2 strings are for passwords.ts.
 */
export async function verifyImportedHash(stored: string, password: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed.ok) return false;
  const p = parsed.parsed;
  switch (p.kind) {
    case 'bcrypt':
      return bcrypt.compare(password, p.stored);
    case 'scrypt': {
      const derived = await scrypt(password, p.salt, p.hash.length, {
        N: p.n,
        r: p.r,
        p: p.p,
        maxmem: 2 * 128 * p.n * p.r + 1024 * 1024,
      });
      return crypto.timingSafeEqual(derived, p.hash);
    }
    case 'pbkdf2': {
      const derived = await pbkdf2(password, p.salt, p.iterations, p.hash.length, 'sha256');
      return crypto.timingSafeEqual(derived, p.hash);
    }
    default:
      return false;
  }
}
