/**
 * Bulk import of users with the password hashes of the system they come from
 * (POST /api/auth/users/import). Each row stands alone: the valid ones are created, the others
 * are reported (partial success), in one answer listing every row in order:
 *
 * - 201: created (`userId`, and `algorithm` when it brought a password hash);
 * - 400: refused as sent: a bad email (AUTH_INVALID_EMAIL), a hash Kiln does not recognise or
 *   whose parameters are out of bounds (AUTH_INVALID_PASSWORD_HASH, saying why), a role not
 *   defined (AUTH_UNKNOWN_ROLE);
 * - 409: a duplicate: an account with the address exists (AUTH_EMAIL_EXISTS), or an earlier row
 *   of the same request has it (AUTH_DUPLICATE_IN_REQUEST).
 *
 * The created rows commit together in one transaction. A hash is stored as it is and checked
 * with its own algorithm (imported-hashes.ts) until the user's next sign-in replaces it with
 * argon2id. The admin vouches for it like for a password they set: a later proof of the inbox
 * keeps it.
 */
import type { ImportUser, ImportUsersResponse } from '@kiln/shared-schemas';
import type { Database } from '../core/db.js';
import { AppError } from '../core/errors.js';
import { parseHash, type HashAlgorithm } from './imported-hashes.js';
import { SET_BY_ADMIN, normaliseEmail } from './service.js';

type Result = ImportUsersResponse['results'][number];

interface Candidate {
  index: number;
  email: string;
  password_hash: string | null;
  algorithm?: HashAlgorithm;
  email_verified: boolean;
  password_binding: string | null;
  profile: Record<string, unknown>;
  app_metadata: Record<string, unknown>;
  user_metadata: Record<string, unknown>;
  roles: string[];
}

const withoutNulls = (m: Record<string, unknown> | undefined) =>
  Object.fromEntries(Object.entries(m ?? {}).filter(([, v]) => v !== null));

export async function importUsers(db: Database, rows: ImportUser[]): Promise<ImportUsersResponse> {
  const results: Result[] = [];
  const wantedRoles = [...new Set(rows.flatMap((r) => r.appRoles ?? []))];
  const { rows: defined } = await db.query<{ name: string }>(
    'SELECT name FROM auth.app_roles WHERE name = ANY($1::text[])',
    [wantedRoles],
  );
  const known = new Set(defined.map((r) => r.name));
  const firstRowOf = new Map<string, number>();
  const candidates: Candidate[] = [];

  rows.forEach((row, index) => {
    const fail = (status: 400 | 409, code: string, message: string) => {
      results[index] = { index, email: row.email, status, error: { code, message } };
    };
    let email: string;
    try {
      email = normaliseEmail(row.email);
    } catch (err) {
      fail(400, 'AUTH_INVALID_EMAIL', err instanceof AppError ? err.message : 'invalid email');
      return;
    }
    let algorithm: HashAlgorithm | undefined;
    if (row.passwordHash) {
      const parsed = parseHash(row.passwordHash);
      if (!parsed.ok) {
        fail(400, 'AUTH_INVALID_PASSWORD_HASH', `passwordHash: ${parsed.reason}`);
        return;
      }
      algorithm = parsed.algorithm;
    }
    const unknown = (row.appRoles ?? []).filter((r) => !known.has(r));
    if (unknown.length) {
      fail(
        400,
        'AUTH_UNKNOWN_ROLE',
        `appRoles: no role ${unknown.map((r) => `"${r}"`).join(', ')} (define it first: POST /api/auth/roles)`,
      );
      return;
    }
    const first = firstRowOf.get(email);
    if (first !== undefined) {
      fail(409, 'AUTH_DUPLICATE_IN_REQUEST', `email: row ${first} of this request has it already`);
      return;
    }
    firstRowOf.set(email, index);
    const verified = row.emailVerified ?? false;
    candidates.push({
      index,
      email,
      password_hash: row.passwordHash ?? null,
      ...(algorithm ? { algorithm } : {}),
      email_verified: verified,
      password_binding: row.passwordHash && !verified ? SET_BY_ADMIN : null,
      profile: row.name ? { name: row.name } : {},
      app_metadata: withoutNulls(row.appMetadata),
      user_metadata: withoutNulls(row.userMetadata),
      roles: [...new Set(row.appRoles ?? [])],
    });
  });

  if (candidates.length) {
    const created = await db.transaction(async (tx) => {
      const { rows: inserted } = await tx.query<{ id: string; email: string }>(
        `INSERT INTO auth.users (email, password_hash, email_verified, inbox_confirmed,
                                 password_binding, profile, app_metadata, user_metadata)
         SELECT x.email, x.password_hash, x.email_verified, x.email_verified, x.password_binding,
                x.profile, x.app_metadata, x.user_metadata
           FROM jsonb_to_recordset($1::jsonb) AS x(
                  email text, password_hash text, email_verified boolean, password_binding text,
                  profile jsonb, app_metadata jsonb, user_metadata jsonb, index int)
          ORDER BY x.index
         ON CONFLICT (lower(email)) DO NOTHING
         RETURNING id, email`,
        [JSON.stringify(candidates)],
      );
      const ids = new Map(inserted.map((r) => [r.email, r.id]));
      const grants = candidates.flatMap((c) =>
        ids.has(c.email) ? c.roles.map((role) => ({ user_id: ids.get(c.email)!, role })) : [],
      );
      if (grants.length) {
        await tx.query(
          `INSERT INTO auth.user_app_roles (user_id, role)
           SELECT x.user_id, x.role FROM jsonb_to_recordset($1::jsonb) AS x(user_id uuid, role text)`,
          [JSON.stringify(grants)],
        );
      }
      return ids;
    });
    for (const c of candidates) {
      const userId = created.get(c.email);
      results[c.index] = userId
        ? {
            index: c.index,
            email: c.email,
            status: 201,
            userId,
            ...(c.algorithm ? { algorithm: c.algorithm } : {}),
          }
        : {
            index: c.index,
            email: c.email,
            status: 409,
            error: { code: 'AUTH_EMAIL_EXISTS', message: 'email: an account with it exists' },
          };
    }
  }
  const imported = results.filter((r) => r.status === 201).length;
  return { imported, failed: results.length - imported, results };
}
