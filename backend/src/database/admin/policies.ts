/**
 * Row-level security policies through the API (the dashboard's policy editor). Expressions are
 * SQL written by the admin; they travel in single-statement queries run as project_admin.
 */
import type { z } from 'zod';
import type { alterPolicyRequestSchema, createPolicyRequestSchema } from '@kiln/shared-schemas';
import type { Database, Principal } from '../../core/db.js';
import { AppError } from '../../core/errors.js';
import type { SchemaCache } from '../records/schema-cache.js';
import { identifier, q, qualified } from './ddl.js';
import { listPolicies } from './introspection.js';
import type { TablesService } from './tables.js';

type CreatePolicy = z.infer<typeof createPolicyRequestSchema>;
type AlterPolicy = z.infer<typeof alterPolicyRequestSchema>;

const roleList = (roles: string[]) =>
  roles.map((r) => (r === 'public' ? 'PUBLIC' : q(r))).join(', ');

export class PoliciesService {
  constructor(
    private readonly db: Database,
    private readonly tables: TablesService,
    private readonly cache: SchemaCache,
  ) {}

  list(schema?: string, table?: string) {
    return listPolicies(
      this.db.pool,
      schema ? [this.tables.schemaFor(schema)] : this.cache.exposedSchemas,
      table,
    );
  }

  async create(principal: Principal, input: CreatePolicy) {
    const schema = this.tables.schemaFor(input.schemaName);
    const table = identifier(input.tableName, 'tableName');
    const name = identifier(input.policyName, 'policyName');
    if (input.command === 'INSERT' && input.using) {
      throw new AppError(
        400,
        'DATABASE_VALIDATION_ERROR',
        'using: an INSERT policy takes only withCheck',
      );
    }
    if ((input.command === 'SELECT' || input.command === 'DELETE') && input.withCheck) {
      throw new AppError(
        400,
        'DATABASE_VALIDATION_ERROR',
        `withCheck: a ${input.command} policy takes only using`,
      );
    }
    if (!input.using && !input.withCheck) {
      throw new AppError(
        400,
        'DATABASE_VALIDATION_ERROR',
        'using: give using and/or withCheck (e.g. "user_id = auth.uid()")',
      );
    }
    const sql =
      `CREATE POLICY ${q(name)} ON ${qualified(schema, table)} AS ${input.permissive ? 'PERMISSIVE' : 'RESTRICTIVE'} ` +
      `FOR ${input.command} TO ${roleList(input.roles)}` +
      (input.using ? ` USING (${input.using})` : '') +
      (input.withCheck ? ` WITH CHECK (${input.withCheck})` : '');
    await this.db.withPrincipal(principal, (tx) => tx.query(sql, []));
    await this.cache.reload();
    return (await listPolicies(this.db.pool, [schema], table)).find((p) => p.policyName === name);
  }

  async alter(
    principal: Principal,
    schemaName: string | undefined,
    tableName: string,
    policyName: string,
    input: AlterPolicy,
  ) {
    const schema = this.tables.schemaFor(schemaName);
    const table = identifier(tableName, 'table');
    let name = identifier(policyName, 'policy');
    await this.db.withPrincipal(principal, async (tx) => {
      const target = `${q(name)} ON ${qualified(schema, table)}`;
      if (input.roles || input.using || input.withCheck) {
        await tx.query(
          `ALTER POLICY ${target}` +
            (input.roles ? ` TO ${roleList(input.roles)}` : '') +
            (input.using ? ` USING (${input.using})` : '') +
            (input.withCheck ? ` WITH CHECK (${input.withCheck})` : ''),
          [],
        );
      }
      if (input.newPolicyName) {
        const renamed = identifier(input.newPolicyName, 'newPolicyName');
        await tx.query(`ALTER POLICY ${target} RENAME TO ${q(renamed)}`, []);
        name = renamed;
      }
    });
    const policy = (await listPolicies(this.db.pool, [schema], table)).find(
      (p) => p.policyName === name,
    );
    if (!policy)
      throw new AppError(
        404,
        'DATABASE_NOT_FOUND',
        `Policy "${name}" on "${table}" does not exist`,
      );
    return policy;
  }

  async drop(
    principal: Principal,
    schemaName: string | undefined,
    tableName: string,
    policyName: string,
  ) {
    const schema = this.tables.schemaFor(schemaName);
    const table = identifier(tableName, 'table');
    const name = identifier(policyName, 'policy');
    await this.db.withPrincipal(principal, (tx) =>
      tx.query(`DROP POLICY ${q(name)} ON ${qualified(schema, table)}`, []),
    );
    return { message: `Policy "${name}" dropped from "${table}"` };
  }
}
