import { hash, verify } from '@node-rs/argon2';
import type { AuthConfig } from '@kiln/shared-schemas';
import { verifyImportedHash } from './imported-hashes.js';

/** argon2id (the library's default algorithm) with the OWASP baseline: 19 MiB, 2 passes. */
const OPTIONS = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

/** Passwords longer than this are refused (argon2 would accept them, but they only cost CPU). */
export const MAX_PASSWORD_LENGTH = 256;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/**
 * Checks a password against a stored hash: Kiln's argon2id, or a hash imported from another
 * system (argon2i, bcrypt, scrypt, PBKDF2-SHA256: imported-hashes.ts).
 */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    if (stored.startsWith('$argon2')) return await verify(stored, password);
    return await verifyImportedHash(stored, password);
  } catch {
    return false;
  }
}

/** Whether a stored hash is one Kiln would not write today (replaced at the next sign-in). */
export const needsRehash = (stored: string): boolean =>
  !stored.startsWith(
    `$argon2id$v=19$m=${OPTIONS.memoryCost},t=${OPTIONS.timeCost},p=${OPTIONS.parallelism}$`,
  );

let dummyHash: Promise<string> | undefined;
/** Spends the same time as a real check, so unknown emails cannot be told apart by timing. */
export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword('kiln-timing-equaliser');
  await verifyPassword(await dummyHash, password);
}

type PasswordPolicy = Pick<
  AuthConfig,
  | 'passwordMinLength'
  | 'requireNumber'
  | 'requireLowercase'
  | 'requireUppercase'
  | 'requireSpecialChar'
>;

/** The rules a password breaks, in words ("at least 8 characters", "a number"...). */
export function passwordProblems(password: string, policy: PasswordPolicy): string[] {
  const problems: string[] = [];
  if ([...password].length < policy.passwordMinLength) {
    problems.push(`at least ${policy.passwordMinLength} characters`);
  }
  if (password.length > MAX_PASSWORD_LENGTH)
    problems.push(`at most ${MAX_PASSWORD_LENGTH} characters`);
  if (policy.requireNumber && !/\d/.test(password)) problems.push('a number');
  if (policy.requireLowercase && !/\p{Ll}/u.test(password)) problems.push('a lowercase letter');
  if (policy.requireUppercase && !/\p{Lu}/u.test(password)) problems.push('an uppercase letter');
  if (policy.requireSpecialChar && !/[^\p{L}\p{N}\s]/u.test(password)) {
    problems.push('a special character');
  }
  return problems;
}
