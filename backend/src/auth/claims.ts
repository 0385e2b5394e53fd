/**
 * The claims of a user's access token beyond Kiln's own: `app_metadata`, `user_metadata`,
 * `app_roles`, and whatever the project's custom-claims hook (a SQL function named in the auth
 * settings) makes of them. Every user token is built here, at sign-in and at every refresh, so a
 * change of metadata or roles reaches the user's next token.
 */
import type { Database } from '../core/db.js';
import { AppError } from '../core/errors.js';
import { PG, isPgError, quoteIdent } from '../core/sql.js';
import { RESERVED_CLAIMS, type AccessClaims } from '../core/auth/tokens.js';

/** How long the hook may run per token issue. */
const HOOK_TIMEOUT_MS = 5000;

/** A hook name as the settings hold it, quoted for SQL (`public.add_claims` → `"public"."add_claims"`). */
export function quoteFunctionName(name: string): string {
  const parts = name.includes('.') ? name.split('.') : ['public', name];
  return parts.map(quoteIdent).join('.');
}

/** 400 unless `name(uuid, jsonb)` exists and returns jsonb. */
export async function assertClaimsHookExists(db: Database, name: string): Promise<void> {
  const { rows } = await db.query<{ returns: string | null }>(
    `SELECT pg_catalog.format_type(p.prorettype, NULL) AS returns
       FROM pg_catalog.pg_proc p WHERE p.oid = pg_catalog.to_regprocedure($1)`,
    [`${quoteFunctionName(name)}(uuid, jsonb)`],
  );
  if (!rows[0]) {
    throw new AppError(
      400,
      'AUTH_INVALID_CLAIMS_HOOK',
      `customClaimsHook: no SQL function ${name}(uuid, jsonb)`,
      'Create it first: CREATE FUNCTION name(user_id uuid, claims jsonb) RETURNS jsonb ...',
    );
  }
  if (rows[0].returns !== 'jsonb') {
    throw new AppError(
      400,
      'AUTH_INVALID_CLAIMS_HOOK',
      `customClaimsHook: ${name}(uuid, jsonb) returns ${rows[0].returns}, not jsonb`,
    );
  }
}

/**
 * Runs the hook as project_admin (with the default claims as `request.jwt.claims`, so auth.uid()
 * works inside it) and returns the claims it answered, minus those Kiln sets itself.
 *
 * A refusal the function raises on purpose (`RAISE EXCEPTION`, SQLSTATE P0001) answers
 * 403 AUTH_CLAIMS_HOOK_REFUSED with its message; any other failure (an error, a timeout, an
 * answer that is not a JSON object) answers 500 AUTH_CLAIMS_HOOK_FAILED naming the SQLSTATE.
 * Either way no token is issued.
 */
export async function runClaimsHook(
  db: Database,
  name: string,
  claims: AccessClaims,
): Promise<Record<string, unknown>> {
  const { custom, ...own } = claims;
  const input = { ...custom, ...own };
  let answer: unknown;
  try {
    const { rows } = await db.withPrincipal(
      { role: 'project_admin', sub: claims.sub, credential: 'jwt', claims: input },
      (tx) =>
        tx.query<{ claims: unknown }>(
          `SELECT ${quoteFunctionName(name)}($1::uuid, $2::jsonb) AS claims`,
          [claims.sub, JSON.stringify(input)],
        ),
      { settings: { statement_timeout: String(HOOK_TIMEOUT_MS) } },
    );
    answer = rows[0]?.claims;
  } catch (err) {
    if (!isPgError(err)) throw err;
    if (err.code === PG.raiseException) {
      throw new AppError(
        403,
        'AUTH_CLAIMS_HOOK_REFUSED',
        `Sign-in refused: ${err.message}`.slice(0, 500),
      );
    }
    throw hookFailed(name, `failed (SQLSTATE ${err.code ?? 'unknown'})`);
  }
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) {
    throw hookFailed(name, 'did not answer a JSON object');
  }
  return Object.fromEntries(
    Object.entries(answer as Record<string, unknown>).filter(([key]) => !RESERVED_CLAIMS.has(key)),
  );
}

function hookFailed(name: string, what: string): AppError {
  return new AppError(
    500,
    'AUTH_CLAIMS_HOOK_FAILED',
    `The custom claims hook ${name} ${what}; no token was issued`,
    'An admin can fix the function, or turn the hook off with PUT /api/auth/config {"customClaimsHook": null}',
  );
}
