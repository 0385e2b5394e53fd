/**
 * The database advisor: what in the exposed schemas the anon key or a signed-in user can reach
 * without row-level security standing in the way. Read from the catalog each time (cheap, and
 * never stale after raw SQL or a migration changed things behind the API's back).
 */
import type pg from 'pg';
import type { AdvisorFinding } from '@kiln/shared-schemas';
import { qualified } from './ddl.js';

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

const API_ROLES = ['anon', 'authenticated'] as const;
type ApiRole = (typeof API_ROLES)[number];
const TABLE_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;

interface Row {
  schema: string;
  name: string;
  kind: 'r' | 'p' | 'v' | 'm';
  rls: boolean;
  policies: number;
  security_invoker: boolean;
  /** role → privileges held, for the API roles that may use the schema. */
  grants: Record<ApiRole, string[]>;
}

const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 } as const;

export async function advisorFindings(
  db: Queryable,
  exposedSchemas: string[],
): Promise<AdvisorFinding[]> {
  // Privileges as PostgreSQL decides them (direct, through PUBLIC or role membership, on the
  // table or on any of its columns: a column grant is enough for the records API to read or
  // write those columns), and only where the role may also use the schema.
  const { rows } = await db.query<Row>(
    `SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind, c.relrowsecurity AS rls,
            (SELECT count(*)::int FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid) AS policies,
            coalesce(c.reloptions @> ARRAY['security_invoker=true']
                     OR c.reloptions @> ARRAY['security_invoker=on'], false) AS security_invoker,
            (SELECT jsonb_object_agg(r.role, r.privs) FROM (
               SELECT role, coalesce(jsonb_agg(priv) FILTER (
                        WHERE pg_catalog.has_schema_privilege(role, n.oid, 'USAGE')
                          AND CASE WHEN priv = 'DELETE'
                                THEN pg_catalog.has_table_privilege(role, c.oid, priv)
                                ELSE pg_catalog.has_any_column_privilege(role, c.oid, priv) END),
                        '[]'::jsonb) AS privs
                 FROM unnest($2::text[]) AS role, unnest($3::text[]) AS priv
                GROUP BY role) r) AS grants
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm')
      ORDER BY n.nspname, c.relname`,
    [exposedSchemas, API_ROLES, TABLE_PRIVILEGES],
  );
  const findings: AdvisorFinding[] = [];
  for (const r of rows) {
    const exposedTo = API_ROLES.filter((role) => (r.grants[role] ?? []).length > 0);
    const privileges = Object.fromEntries(exposedTo.map((role) => [role, r.grants[role]]));
    const where = qualified(r.schema, r.name);
    const base = { schema: r.schema, table: r.name, exposedTo, privileges };
    if ((r.kind === 'r' || r.kind === 'p') && !r.rls && exposedTo.length) {
      const writes = exposedTo.some((role) => r.grants[role].some((p) => p !== 'SELECT'));
      findings.push({
        ...base,
        kind: 'rls_disabled',
        severity: 'critical',
        message: `Row-level security is off on ${where}: ${exposedTo.join(' and ')} may ${writes ? 'read and change' : 'read'} every row through the records API`,
        remediation: `PATCH /api/database/tables/${encodeURIComponent(r.name)}/schema?schema=${encodeURIComponent(r.schema)} {"rlsEnabled": true} and add policies (POST /api/database/policies), or revoke the grants`,
      });
    } else if ((r.kind === 'r' || r.kind === 'p') && r.rls && !r.policies && exposedTo.length) {
      findings.push({
        ...base,
        kind: 'rls_no_policy',
        severity: 'info',
        message: `Row-level security is on for ${where} and no policy exists: only admins and the API key can read or write it`,
        remediation: `Add policies (POST /api/database/policies) saying who may read and write "${r.name}"`,
      });
    } else if (r.kind === 'v' && !r.security_invoker && exposedTo.length) {
      findings.push({
        ...base,
        kind: 'view_bypasses_rls',
        severity: 'warning',
        message: `The view ${where} runs with its owner's rights: ${exposedTo.join(' and ')} read through it without the row-level security of the tables beneath`,
        remediation: `ALTER VIEW ${where} SET (security_invoker = true), or revoke the grants`,
      });
    } else if (r.kind === 'm' && exposedTo.length) {
      findings.push({
        ...base,
        kind: 'materialized_view_exposed',
        severity: 'warning',
        message: `The materialized view ${where} has no row-level security and ${exposedTo.join(' and ')} may read all of it`,
        remediation: `REVOKE SELECT ON ${where} FROM anon, authenticated, or move it out of the exposed schemas`,
      });
    }
  }
  // Functions that run with their owner's rights, callable through the RPC endpoint: like a view
  // without security_invoker, they read and write past the caller's row-level security (EXECUTE
  // is granted to PUBLIC by default). Functions of extensions are the extension's business.
  const fns = await db.query<{
    schema: string;
    name: string;
    args: string;
    grants: Record<ApiRole, boolean>;
  }>(
    `SELECT n.nspname AS schema, p.proname AS name,
            pg_catalog.pg_get_function_identity_arguments(p.oid) AS args,
            (SELECT jsonb_object_agg(role,
                      pg_catalog.has_schema_privilege(role, n.oid, 'USAGE')
                      AND pg_catalog.has_function_privilege(role, p.oid, 'EXECUTE'))
               FROM unnest($2::text[]) AS role) AS grants
       FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = ANY($1::text[]) AND p.prosecdef AND p.prokind IN ('f', 'p')
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                         WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                           AND d.objid = p.oid AND d.deptype = 'e')
      ORDER BY 1, 2, 3`,
    [exposedSchemas, API_ROLES],
  );
  for (const f of fns.rows) {
    const exposedTo = API_ROLES.filter((role) => f.grants[role]);
    if (!exposedTo.length) continue;
    const where = `${qualified(f.schema, f.name)}(${f.args})`;
    findings.push({
      schema: f.schema,
      table: `${f.name}(${f.args})`,
      exposedTo,
      privileges: Object.fromEntries(exposedTo.map((role) => [role, ['EXECUTE']])),
      kind: 'function_bypasses_rls',
      severity: 'warning',
      message: `The function ${where} runs with its owner's rights (SECURITY DEFINER): ${exposedTo.join(' and ')} may call it through /api/database/rpc/${f.name} and reach whatever it reads or writes without row-level security`,
      remediation: `REVOKE EXECUTE ON FUNCTION ${where} FROM PUBLIC, anon, authenticated (then grant it to the roles that need it), or make it SECURITY INVOKER`,
    });
  }
  return findings.sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      a.schema.localeCompare(b.schema) ||
      a.table.localeCompare(b.table),
  );
}
