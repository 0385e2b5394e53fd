/**
 * Edge functions as rows of `system.functions`: validation (slug, reserved names, code that
 * loads), versions, and what an invocation needs to know about a function.
 */
import type { Database } from '../core/db.js';
import { AppError } from '../core/errors.js';
import { PG, pgCode } from '../core/sql.js';

export const RESERVED_SLUGS = new Set([
  'api',
  'admin',
  'auth',
  'health',
  'internal',
  'functions',
  'deploy',
  'new',
  'kiln',
]);
const SLUG = /^[a-z0-9_-]{1,64}$/;

export interface FunctionRow {
  id: string;
  slug: string;
  name: string;
  description: string | null;
  code: string;
  status: 'draft' | 'active';
  version: number;
  /** The project's API key is in this function's environment (API_KEY). */
  api_key_access: boolean;
  deployment_id: string | null;
  deployment_status: string | null;
  deployment_url: string | null;
  deployment_error: string | null;
  created_at: Date;
  updated_at: Date;
  deployed_at: Date | null;
}

export const functionJson = (r: FunctionRow, withCode: boolean) => ({
  id: r.id,
  slug: r.slug,
  name: r.name,
  description: r.description,
  status: r.status,
  version: r.version,
  apiKeyAccess: r.api_key_access,
  ...(withCode ? { code: r.code } : {}),
  deployment: r.deployment_id
    ? {
        id: r.deployment_id,
        status: r.deployment_status,
        url: r.deployment_url,
        error: r.deployment_error,
      }
    : null,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
  deployedAt: r.deployed_at?.toISOString() ?? null,
});

export function slugFromName(name: string): string {
  return name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
}

export function validateSlug(slug: string): void {
  if (!SLUG.test(slug)) {
    throw new AppError(
      400,
      'FUNCTION_INVALID_SLUG',
      `slug "${slug}" must be 1-64 characters of a-z, 0-9, _ and -`,
    );
  }
  if (RESERVED_SLUGS.has(slug)) {
    throw new AppError(400, 'FUNCTION_INVALID_SLUG', `slug "${slug}" is reserved`);
  }
}

/**
 * Code in the CommonJS form some users have (`module.exports = async (req) => ...`) becomes a
 * module whose default export is that function. The prelude shares the first line, so Deno's
 * line numbers still match what the user wrote.
 */
export function normalizeCode(code: string): string {
  if (/\bexport\s+default\b/.test(code) || !/\bmodule\.exports\b/.test(code)) return code;
  return (
    'const module: { exports: any } = { exports: {} }; const exports = module.exports; ' +
    code +
    '\nexport default (module.exports?.default ?? module.exports);\n'
  );
}

export interface InvocationTarget {
  version: number;
  status: 'draft' | 'active';
  deploymentUrl: string | null;
  deploymentStatus: string | null;
  /** Changes with the code, the secrets or the project keys. */
  stamp: string;
}

export class FunctionsService {
  constructor(private readonly db: Database) {}

  async list(): Promise<FunctionRow[]> {
    return (await this.db.query<FunctionRow>('SELECT * FROM system.functions ORDER BY slug')).rows;
  }

  async get(slug: string): Promise<FunctionRow> {
    const { rows } = await this.db.query<FunctionRow>(
      'SELECT * FROM system.functions WHERE slug = $1',
      [slug],
    );
    if (!rows[0]) throw notFound(slug);
    return rows[0];
  }

  async create(input: {
    slug: string;
    name: string;
    code: string;
    description?: string | null;
    status: 'draft' | 'active';
    apiKeyAccess?: boolean;
  }): Promise<FunctionRow> {
    try {
      const { rows } = await this.db.query<FunctionRow>(
        `INSERT INTO system.functions (slug, name, code, description, status, api_key_access)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
        [
          input.slug,
          input.name,
          input.code,
          input.description ?? null,
          input.status,
          input.apiKeyAccess ?? false,
        ],
      );
      return rows[0]!;
    } catch (err) {
      if (pgCode(err) === PG.uniqueViolation) {
        throw new AppError(
          409,
          'FUNCTION_EXISTS',
          `A function with slug "${input.slug}" exists already`,
          `Change it with PUT /api/functions/${input.slug}`,
        );
      }
      throw err;
    }
  }

  async update(
    slug: string,
    input: {
      name?: string;
      code?: string;
      description?: string | null;
      status?: 'draft' | 'active';
      apiKeyAccess?: boolean;
    },
  ): Promise<FunctionRow> {
    // A change of code, status or environment (API key access) is a new version: the local
    // process restarts with it, Subhosting redeploys.
    const { rows } = await this.db.query<FunctionRow>(
      `UPDATE system.functions SET
         name = coalesce($2, name),
         code = coalesce($3, code),
         description = CASE WHEN $4 THEN $5 ELSE description END,
         status = coalesce($6, status),
         api_key_access = coalesce($7, api_key_access),
         version = version + CASE WHEN coalesce($3, code) <> code OR coalesce($6, status) <> status
                                   OR coalesce($7, api_key_access) <> api_key_access THEN 1 ELSE 0 END
       WHERE slug = $1 RETURNING *`,
      [
        slug,
        input.name ?? null,
        input.code ?? null,
        input.description !== undefined,
        input.description ?? null,
        input.status ?? null,
        input.apiKeyAccess ?? null,
      ],
    );
    if (!rows[0]) throw notFound(slug);
    return rows[0];
  }

  async delete(slug: string): Promise<FunctionRow> {
    const { rows } = await this.db.query<FunctionRow>(
      'DELETE FROM system.functions WHERE slug = $1 RETURNING *',
      [slug],
    );
    if (!rows[0]) throw notFound(slug);
    return rows[0];
  }

  async recordDeployment(
    slug: string,
    version: number,
    d: { id: string | null; status: string; url: string | null; error: string | null },
  ): Promise<void> {
    await this.db.query(
      `UPDATE system.functions SET deployment_id = $3, deployment_status = $4, deployment_url = $5,
              deployment_error = $6, deployed_at = CASE WHEN $4 = 'success' THEN now() ELSE deployed_at END
        WHERE slug = $1 AND version = $2`,
      [slug, version, d.id, d.status, d.url, d.error],
    );
  }

  /** One cheap query per invocation: is it there, which version, has its environment moved? */
  async target(slug: string): Promise<InvocationTarget | undefined> {
    const { rows } = await this.db.query<{
      version: number;
      status: 'draft' | 'active';
      deployment_url: string | null;
      deployment_status: string | null;
      stamp: string;
    }>(
      `SELECT f.version, f.status, f.deployment_url, f.deployment_status,
              concat_ws(':', f.version, s.version,
                (SELECT max(created_at) FROM system.api_keys WHERE expires_at IS NULL),
                (SELECT count(*) FROM system.secrets WHERE expires_at <= now())) AS stamp
         FROM system.functions f, system.secrets_state s WHERE f.slug = $1`,
      [slug],
    );
    const r = rows[0];
    return r
      ? {
          version: r.version,
          status: r.status,
          deploymentUrl: r.deployment_url,
          deploymentStatus: r.deployment_status,
          stamp: r.stamp,
        }
      : undefined;
  }
}

export const notFound = (slug: string) =>
  new AppError(
    404,
    'FUNCTION_NOT_FOUND',
    `No active function "${slug}"`,
    'List functions with GET /api/functions',
  );
