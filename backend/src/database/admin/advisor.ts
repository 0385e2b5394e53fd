/**
 * The database advisor: lints the exposed schemas, read from the catalog each time (cheap, and
 * never stale after raw SQL or a migration changed things behind the API's back).
 *
 * Each rule answers findings with a stable id (`<rule>:<object>`), why it matters, and where a
 * fix needs no human choice, the exact SQL (`fixSql`, every name schema-qualified and quoted).
 * `POST /advisor/fix` (advisorFix) finds the finding again by its id and runs that SQL.
 *
 * Rules: security (what anon and signed-in users reach past row-level security, policies not in
 * force, functions that can be hijacked, extensions exposed through RPC, weak auth settings),
 * performance (indexes missing under policies and foreign keys, unused and duplicate indexes,
 * policies re-evaluated per row or overlapping, long statements, cache misses) and health
 * (statistics missing or stale, dead rows, sequences running out, tables the records API cannot
 * address, sessions idle in a transaction or blocked by locks, connections near the limit).
 *
 * One round trip per rule group, catalog and statistics views only (never a count(*) of a
 * table). Runtime rules take thresholds per request (AdvisorThresholds); a fix marked
 * `transactional: false` (VACUUM) runs as a statement of its own.
 */
import type pg from 'pg';
import type { AdvisorFinding, AdvisorThresholds } from '@kiln/shared-schemas';
import type { Database } from '../../core/db.js';
import { AppError } from '../../core/errors.js';
import { q, qualified } from './ddl.js';

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

const API_ROLES = ['anon', 'authenticated'] as const;
type ApiRole = (typeof API_ROLES)[number];
const TABLE_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;
const WRITES = ['INSERT', 'UPDATE', 'DELETE'] as const;

/** A table scanned this often that never used an index: the index is dead weight. */
export const UNUSED_INDEX_MIN_SCANS = 100;
/** Rows changed since creation before a table never analyzed is worth a finding. */
const NEVER_ANALYZED_MIN_CHANGES = 1000;
/** Share of a sequence's range used before it is a finding. */
const SEQUENCE_USED_WARNING = 0.75;
/** Dead tuples before a table's bloat is a finding: more than this many, and this share. */
const DEAD_TUPLES_MIN = 1000;
const DEAD_TUPLES_SHARE = 0.2;
/** Share of a table's rows changed since its last analyze before its statistics are stale. */
const STALE_STATISTICS_SHARE = 0.2;
/** Shorter passwords are too easy to guess offline and online. */
const PASSWORD_MIN_LENGTH = 8;
/** Blocks read (from cache or disk) before the cache hit ratio means anything. */
const CACHE_MIN_BLOCKS = 10_000;

/** The runtime rules' thresholds when the request names none (see advisorThresholdsSchema). */
export const DEFAULT_THRESHOLDS: Required<AdvisorThresholds> = {
  idleInTransactionSeconds: 300,
  longRunningSeconds: 300,
  lockWaitSeconds: 60,
  connectionsUsedPercent: 80,
  cacheHitPercent: 95,
};

type Finding = AdvisorFinding;
type Kind = Finding['kind'];

const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 } as const;

interface Relation {
  schema: string;
  name: string;
  kind: 'r' | 'p' | 'v' | 'm';
  rls: boolean;
  policies: string[];
  has_pk: boolean;
  security_invoker: boolean;
  /** role → privileges held, for the API roles that may use the schema. */
  grants: Record<ApiRole, string[]>;
}

function finding(
  kind: Kind,
  severity: Finding['severity'],
  category: Finding['category'],
  object: Finding['object'],
  text: { title: string; message: string; why: string; remediation: string },
  fixSql: string | null,
  exposure: { exposedTo?: ApiRole[]; privileges?: Record<string, string[]> } = {},
  transactional = true,
): Finding {
  return {
    id: `${kind}:${object.schema}.${object.name}`,
    kind,
    rule: kind,
    severity,
    category,
    schema: object.schema,
    table: object.table ?? object.name,
    object,
    exposedTo: exposure.exposedTo ?? [],
    privileges: exposure.privileges ?? {},
    ...text,
    fixSql,
    ...(transactional ? {} : { transactional: false }),
  };
}

/** Every finding in the given schemas, most severe first. */
export async function advisorFindings(
  db: Queryable,
  exposedSchemas: string[],
  thresholds: AdvisorThresholds = {},
): Promise<AdvisorFinding[]> {
  const limits = { ...DEFAULT_THRESHOLDS, ...stripUndefined(thresholds) };
  const all = (
    await Promise.all([
      relationRules(db, exposedSchemas),
      authUsersExposed(db, exposedSchemas),
      functionRules(db, exposedSchemas),
      policyRules(db, exposedSchemas),
      indexRules(db, exposedSchemas),
      healthRules(db, exposedSchemas),
      runtimeRules(db, limits),
      authRules(db),
    ])
  ).flat();
  return all.sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      a.schema.localeCompare(b.schema) ||
      a.table.localeCompare(b.table) ||
      a.id.localeCompare(b.id),
  );
}

/**
 * Applies a finding's fix: finds it again (the catalog may have changed since it was shown), runs
 * its SQL in one transaction as the database owner, and answers whether it is gone.
 */
export async function advisorFix(
  db: Database,
  exposedSchemas: string[],
  id: string,
  thresholds: AdvisorThresholds = {},
) {
  const found = (await advisorFindings(db.pool, exposedSchemas, thresholds)).find(
    (f) => f.id === id,
  );
  if (!found) {
    throw new AppError(
      404,
      'DATABASE_NOT_FOUND',
      `No advisor finding with id "${id.slice(0, 200)}" (it may be fixed already)`,
      'GET /api/database/advisor lists the current findings',
    );
  }
  if (!found.fixSql) {
    throw new AppError(
      400,
      'DATABASE_VALIDATION_ERROR',
      `The finding "${found.id}" has no automatic fix: it needs a decision (${found.remediation})`,
    );
  }
  const fixSql = found.fixSql;
  await db.withAdminSql('owner', async (client) => {
    // VACUUM and its like refuse to run in a transaction block: one statement, on its own.
    if (found.transactional === false) {
      await client.query(fixSql);
      return;
    }
    try {
      await client.query('BEGIN');
      await client.query(fixSql);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
  const still = (await advisorFindings(db.pool, exposedSchemas, thresholds)).some(
    (f) => f.id === id,
  );
  return {
    id: found.id,
    rule: found.rule,
    fixSql,
    fixed: !still,
    message: still
      ? `Ran the fix for ${found.id}, and the finding is still there`
      : `Fixed: ${found.title}`,
  };
}

// ---- tables, views and what the API roles reach --------------------------------------------------

async function relationRules(db: Queryable, schemas: string[]): Promise<Finding[]> {
  // Privileges as PostgreSQL decides them (direct, through PUBLIC or role membership, on the
  // table or on any of its columns: a column grant is enough for the records API to read or
  // write those columns), and only where the role may also use the schema.
  const { rows } = await db.query<Relation>(
    `SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind, c.relrowsecurity AS rls,
            ARRAY(SELECT p.polname FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid
                   ORDER BY 1)::text[] AS policies,
            EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
                     WHERE k.conrelid = c.oid AND k.contype = 'p') AS has_pk,
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
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                         WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                           AND d.objid = c.oid AND d.deptype = 'e')
        AND NOT c.relispartition
      ORDER BY n.nspname, c.relname`,
    [schemas, API_ROLES, TABLE_PRIVILEGES],
  );
  const out: Finding[] = [];
  for (const r of rows) {
    const exposedTo = API_ROLES.filter((role) => (r.grants[role] ?? []).length > 0);
    const where = qualified(r.schema, r.name);
    const isTable = r.kind === 'r' || r.kind === 'p';
    const object = { type: isTable ? 'table' : 'view', schema: r.schema, name: r.name } as const;
    const policyList = r.policies.map(q).join(', ');
    if (!exposedTo.length) {
      // Policies written for a table whose row-level security is off: nobody reaches it through
      // the API today, but the first GRANT opens every row, whatever the policies say. (When API
      // roles do reach it, rls_disabled below says so and names the policies.)
      if (isTable && !r.rls && r.policies.length) {
        out.push(
          finding(
            'policy_exists_rls_disabled',
            'warning',
            'security',
            object,
            {
              title: 'Policies exist on a table whose row-level security is off',
              message: `${where} has policies (${policyList}) that are not in force: its row-level security is off`,
              why: 'Policies only apply once row-level security is on: until then the grants alone decide, and whoever is granted the table reaches every row the policies were written to hide.',
              remediation: `ALTER TABLE ${where} ENABLE ROW LEVEL SECURITY, or drop the policies if the table is meant to be private`,
            },
            `ALTER TABLE ${where} ENABLE ROW LEVEL SECURITY;`,
          ),
        );
      }
      continue;
    }
    const privileges = Object.fromEntries(exposedTo.map((role) => [role, r.grants[role]]));
    const exposure = { exposedTo, privileges };
    if (isTable && !r.rls) {
      const writes = exposedTo.some((role) => r.grants[role].some((p) => p !== 'SELECT'));
      const ignored = r.policies.length
        ? `; its policies (${policyList}) are not in force until row-level security is on`
        : '';
      out.push(
        finding(
          'rls_disabled',
          'critical',
          'security',
          object,
          {
            title: 'Row-level security is off on an exposed table',
            message: `Row-level security is off on ${where}: ${exposedTo.join(' and ')} may ${writes ? 'read and change' : 'read'} every row through the records API${ignored}`,
            why: 'Without row-level security, the grants alone decide: anyone holding the anon key (it ships in your frontend) or any signed-in user reaches every row.',
            remediation: `PATCH /api/database/tables/${encodeURIComponent(r.name)}/schema?schema=${encodeURIComponent(r.schema)} {"rlsEnabled": true} and add policies (POST /api/database/policies), or revoke the grants`,
          },
          `ALTER TABLE ${where} ENABLE ROW LEVEL SECURITY;`,
          exposure,
        ),
      );
    } else if (isTable && !r.policies.length) {
      out.push(
        finding(
          'rls_no_policy',
          'info',
          'security',
          object,
          {
            title: 'Row-level security is on and no policy exists',
            message: `Row-level security is on for ${where} and no policy exists: only admins and the API key can read or write it`,
            why: 'Every request of anon and signed-in users sees no rows and cannot write: fine for a private table, a surprise for one the app reads.',
            remediation: `Add policies (POST /api/database/policies) saying who may read and write "${r.name}", or revoke the grants if it is private`,
          },
          null,
          exposure,
        ),
      );
    } else if (r.kind === 'v' && !r.security_invoker) {
      out.push(
        finding(
          'view_bypasses_rls',
          'warning',
          'security',
          object,
          {
            title: "A view runs with its owner's rights",
            message: `The view ${where} runs with its owner's rights: ${exposedTo.join(' and ')} read through it without the row-level security of the tables beneath`,
            why: "A view checks the tables' row-level security as its owner (an admin), not as the caller, unless it is security_invoker: the view leaks what the tables protect.",
            remediation: `ALTER VIEW ${where} SET (security_invoker = true), or revoke the grants`,
          },
          `ALTER VIEW ${where} SET (security_invoker = true);`,
          exposure,
        ),
      );
    } else if (r.kind === 'm') {
      out.push(
        finding(
          'materialized_view_exposed',
          'warning',
          'security',
          object,
          {
            title: 'A materialized view is readable by API roles',
            message: `The materialized view ${where} has no row-level security and ${exposedTo.join(' and ')} may read all of it`,
            why: 'Materialized views cannot have row-level security: every row they hold is readable by whoever has SELECT.',
            remediation: `REVOKE SELECT ON ${where} FROM anon, authenticated, or move it out of the exposed schemas`,
          },
          `REVOKE ALL ON ${where} FROM PUBLIC, anon, authenticated;`,
          exposure,
        ),
      );
    }
    if (isTable && !r.has_pk && r.kind === 'r') {
      out.push(
        finding(
          'no_primary_key',
          'info',
          'health',
          object,
          {
            title: 'An exposed table has no primary key',
            message: `${where} has no primary key: the records API cannot upsert into it, and the dashboard cannot address one row to edit or delete`,
            why: 'A primary key names each row: without one, updates and deletes through the API match by value, upserts are impossible, and duplicates creep in.',
            remediation: `ALTER TABLE ${where} ADD PRIMARY KEY (<columns>), or add an identity column`,
          },
          `ALTER TABLE ${where} ADD COLUMN ${q('kiln_row_id')} bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;`,
          exposure,
        ),
      );
    }
  }
  return out;
}

/**
 * Views (and materialized views) in the exposed schemas that read Kiln's `auth.users` and that
 * anon or signed-in users may select from: addresses and account data leak through them.
 */
async function authUsersExposed(db: Queryable, schemas: string[]): Promise<Finding[]> {
  const { rows } = await db.query<{ schema: string; name: string; kind: string; roles: string[] }>(
    `SELECT DISTINCT n.nspname AS schema, v.relname AS name, v.relkind AS kind,
            ARRAY(SELECT role FROM unnest($2::text[]) AS role
                   WHERE pg_catalog.has_schema_privilege(role, n.oid, 'USAGE')
                     AND pg_catalog.has_any_column_privilege(role, v.oid, 'SELECT'))::text[]
              AS roles
       FROM pg_catalog.pg_rewrite w
       JOIN pg_catalog.pg_class v ON v.oid = w.ev_class
       JOIN pg_catalog.pg_namespace n ON n.oid = v.relnamespace
       JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
                                  AND d.objid = w.oid
                                  AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
                                  AND d.refobjid = 'auth.users'::pg_catalog.regclass
      WHERE n.nspname = ANY($1::text[]) AND v.relkind IN ('v', 'm')
      ORDER BY 1, 2`,
    [schemas, API_ROLES],
  );
  return rows
    .filter((r) => r.roles.length)
    .map((r) => {
      const where = qualified(r.schema, r.name);
      const exposedTo = r.roles as ApiRole[];
      return finding(
        'auth_users_exposed',
        'critical',
        'security',
        { type: 'view', schema: r.schema, name: r.name },
        {
          title: 'A view exposes auth.users',
          message: `The ${r.kind === 'm' ? 'materialized view' : 'view'} ${where} reads auth.users and ${exposedTo.join(' and ')} may select from it`,
          why: "Kiln's user table holds every account's address and sign-in data; a view over it in an exposed schema hands them to anyone with the anon key or an account.",
          remediation: `REVOKE ALL ON ${where} FROM PUBLIC, anon, authenticated, or move it out of the exposed schemas (keep profile data the app needs in a table of its own, with policies)`,
        },
        `REVOKE ALL ON ${where} FROM PUBLIC, anon, authenticated;`,
        {
          exposedTo,
          privileges: Object.fromEntries(exposedTo.map((role) => [role, ['SELECT']])),
        },
      );
    });
}

// ---- functions and extensions ------------------------------------------------------------------

async function functionRules(db: Queryable, schemas: string[]): Promise<Finding[]> {
  const out: Finding[] = [];
  // Functions that run with their owner's rights. Callable through the RPC endpoint, they read
  // and write past the caller's row-level security (EXECUTE is granted to PUBLIC by default);
  // without a fixed search_path, a caller who can create objects can make them run its own.
  // Functions of extensions are the extension's business; triggers cannot be called.
  const fns = await db.query<{
    schema: string;
    name: string;
    args: string;
    fixed_path: boolean;
    grants: Record<ApiRole, boolean>;
  }>(
    `SELECT n.nspname AS schema, p.proname AS name,
            pg_catalog.pg_get_function_identity_arguments(p.oid) AS args,
            EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) AS c
                     WHERE c LIKE 'search_path=%') AS fixed_path,
            (SELECT jsonb_object_agg(role,
                      pg_catalog.has_schema_privilege(role, n.oid, 'USAGE')
                      AND pg_catalog.has_function_privilege(role, p.oid, 'EXECUTE'))
               FROM unnest($2::text[]) AS role) AS grants
       FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = ANY($1::text[]) AND p.prosecdef AND p.prokind IN ('f', 'p')
        AND p.prorettype <> ALL (ARRAY['pg_catalog.trigger'::pg_catalog.regtype,
                                       'pg_catalog.event_trigger'::pg_catalog.regtype])
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                         WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                           AND d.objid = p.oid AND d.deptype = 'e')
      ORDER BY 1, 2, 3`,
    [schemas, API_ROLES],
  );
  for (const f of fns.rows) {
    const signature = `${f.name}(${f.args})`;
    const where = `${qualified(f.schema, f.name)}(${f.args})`;
    const object = { type: 'function', schema: f.schema, name: signature } as const;
    const exposedTo = API_ROLES.filter((role) => f.grants[role]);
    if (exposedTo.length) {
      out.push(
        finding(
          'function_bypasses_rls',
          'warning',
          'security',
          object,
          {
            title: 'A SECURITY DEFINER function is callable by API roles',
            message: `The function ${where} runs with its owner's rights (SECURITY DEFINER): ${exposedTo.join(' and ')} may call it through /api/database/rpc/${f.name} and reach whatever it reads or writes without row-level security`,
            why: "The function runs as its owner, so row-level security applies as for an admin: every caller gets the owner's reach.",
            remediation: `REVOKE EXECUTE ON FUNCTION ${where} FROM PUBLIC, anon, authenticated (then grant it to the roles that need it), or make it SECURITY INVOKER`,
          },
          `REVOKE EXECUTE ON FUNCTION ${where} FROM PUBLIC, anon, authenticated;`,
          {
            exposedTo,
            privileges: Object.fromEntries(exposedTo.map((role) => [role, ['EXECUTE']])),
          },
        ),
      );
    }
    if (!f.fixed_path) {
      out.push(
        finding(
          'function_search_path_mutable',
          'warning',
          'security',
          object,
          {
            title: 'A SECURITY DEFINER function has no fixed search_path',
            message: `The function ${where} runs with its owner's rights and resolves names with the caller's search_path`,
            why: "A caller who sets search_path to a schema of their own can put a table, operator or function there that the function then uses with its owner's rights.",
            remediation: `ALTER FUNCTION ${where} SET search_path = pg_catalog, ${q(f.schema)}, pg_temp`,
          },
          `ALTER FUNCTION ${where} SET search_path = pg_catalog, ${q(f.schema)}, pg_temp;`,
        ),
      );
    }
  }
  // Extensions installed into an exposed schema: their functions are callable through RPC and
  // their objects crowd the API's schema.
  // Moving one needs to own its objects: a trusted extension a non-superuser created belongs to
  // the bootstrap superuser, so only a superuser connection is offered the one-click move.
  const ext = await db.query<{ name: string; schema: string; relocatable: boolean }>(
    `SELECT e.extname AS name, n.nspname AS schema,
            e.extrelocatable AND (SELECT r.rolsuper FROM pg_catalog.pg_roles r
                                   WHERE r.rolname = current_user) AS relocatable
       FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
      WHERE n.nspname = ANY($1::text[]) AND e.extname <> 'plpgsql'
      ORDER BY 1`,
    [schemas],
  );
  for (const e of ext.rows) {
    out.push(
      finding(
        'extension_in_exposed_schema',
        'warning',
        'security',
        { type: 'extension', schema: e.schema, name: e.name },
        {
          title: 'An extension is installed in an exposed schema',
          message: `The extension ${q(e.name)} lives in the exposed schema ${q(e.schema)}: its functions are callable through /api/database/rpc and its tables and views reachable through the records API`,
          why: 'Extension objects are not written with the API in mind: they widen what anon and signed-in users can call, and may run with their owner’s rights.',
          remediation: e.relocatable
            ? `CREATE SCHEMA IF NOT EXISTS extensions; ALTER EXTENSION ${q(e.name)} SET SCHEMA extensions`
            : `Move it as a superuser (ALTER EXTENSION ${q(e.name)} SET SCHEMA extensions), or DROP it and CREATE EXTENSION ${q(e.name)} SCHEMA extensions (what uses its types goes with it)`,
        },
        e.relocatable
          ? `CREATE SCHEMA IF NOT EXISTS extensions; ALTER EXTENSION ${q(e.name)} SET SCHEMA extensions;`
          : null,
      ),
    );
  }
  return out;
}

// ---- policies ------------------------------------------------------------------------------------

/** `auth.uid()` and friends, not already inside a scalar subquery. */
const PER_ROW_CALL =
  /(?<!select\s{1,20})\b(auth\.(?:uid|role|jwt|email)\(\)|current_setting\([^()]*\))/gi;

async function policyRules(db: Queryable, schemas: string[]): Promise<Finding[]> {
  const out: Finding[] = [];
  const { rows } = await db.query<{
    schema: string;
    table: string;
    policy: string;
    cmd: string;
    permissive: boolean;
    roles: string[];
    using: string | null;
    check: string | null;
    rls: boolean;
    anon_writes: string[];
  }>(
    `SELECT n.nspname AS schema, c.relname AS "table", p.polname AS policy, p.polcmd AS cmd,
            p.polpermissive AS permissive,
            ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(r) END
                    FROM unnest(p.polroles) AS r)::text[] AS roles,
            pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS "using",
            pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS "check",
            c.relrowsecurity AS rls,
            ARRAY(SELECT w FROM unnest($2::text[]) AS w
                   WHERE pg_catalog.has_schema_privilege('anon', n.oid, 'USAGE')
                     AND CASE WHEN w = 'DELETE'
                              THEN pg_catalog.has_table_privilege('anon', c.oid, w)
                              ELSE pg_catalog.has_any_column_privilege('anon', c.oid, w) END)
              AS anon_writes
       FROM pg_catalog.pg_policy p
       JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($1::text[])
      ORDER BY 1, 2, 3`,
    [schemas, WRITES],
  );
  const COMMANDS: Record<string, string[]> = {
    '*': ['INSERT', 'UPDATE', 'DELETE'],
    a: ['INSERT'],
    w: ['UPDATE'],
    d: ['DELETE'],
    r: [],
  };
  // anon_can_write: one finding per table, naming the write commands a permissive policy opens.
  const anonWrites = new Map<string, { schema: string; table: string; cmds: Set<string> }>();
  for (const p of rows) {
    const where = qualified(p.schema, p.table);
    const forAnon = p.roles.includes('public') || p.roles.includes('anon');
    if (p.rls && p.permissive && forAnon) {
      const opened = (COMMANDS[p.cmd] ?? []).filter((c) => p.anon_writes.includes(c));
      if (opened.length) {
        const key = `${p.schema}.${p.table}`;
        const entry = anonWrites.get(key) ?? { schema: p.schema, table: p.table, cmds: new Set() };
        for (const c of opened) entry.cmds.add(c);
        anonWrites.set(key, entry);
      }
    }
    // A write policy for signed-in users (or everyone) that checks nothing: any account may
    // change or delete every row. (Reads that check nothing are the "public read" template.)
    const writes = COMMANDS[p.cmd] ?? [];
    const open = (e: string | null) => e !== null && /^\(?\s*true\s*\)?$/i.test(e.trim());
    const checksNothing =
      p.cmd === 'a' ? open(p.check) : open(p.using) && (p.check === null || open(p.check));
    if (
      p.rls &&
      p.permissive &&
      writes.length &&
      checksNothing &&
      (p.roles.includes('public') || p.roles.includes('authenticated'))
    ) {
      out.push(
        finding(
          'policy_allows_any_write',
          'warning',
          'security',
          {
            type: 'policy',
            schema: p.schema,
            name: `${p.table}.${p.policy}`,
            table: p.table,
          },
          {
            title: 'A write policy lets any signed-in user change every row',
            message: `The policy ${q(p.policy)} on ${where} lets ${p.roles.join(', ')} ${writes.join(', ')} any row: its condition is always true`,
            why: 'Anyone can sign up: a policy that checks nothing on writes means every account may overwrite or delete everybody’s rows.',
            remediation: `ALTER POLICY ${q(p.policy)} ON ${where} USING (owner_column = (SELECT auth.uid()))${p.cmd === 'r' || p.cmd === 'd' ? '' : ' WITH CHECK (owner_column = (SELECT auth.uid()))'}, naming the column that holds the owner`,
          },
          null,
        ),
      );
    }
    // Policies whose auth.uid() / current_setting() is evaluated once per row.
    const rewrite = (expr: string | null) =>
      expr === null ? null : expr.replace(PER_ROW_CALL, (m) => `( SELECT ${m})`);
    const using = rewrite(p.using);
    const check = rewrite(p.check);
    if (using !== p.using || check !== p.check) {
      const object = {
        type: 'policy',
        schema: p.schema,
        name: `${p.table}.${p.policy}`,
        table: p.table,
      } as const;
      const parts = [
        using !== p.using && using !== null ? `USING (${using})` : '',
        check !== p.check && check !== null ? `WITH CHECK (${check})` : '',
      ].filter(Boolean);
      out.push(
        finding(
          'policy_per_row_auth_call',
          'warning',
          'performance',
          object,
          {
            title: 'A policy calls auth functions once per row',
            message: `The policy ${q(p.policy)} on ${where} calls auth.uid() / current_setting() for every row it checks`,
            why: 'Wrapped in a scalar subquery, (select auth.uid()) is computed once per statement; bare, it runs once per row, which turns a big scan into a slow one.',
            remediation: `ALTER POLICY ${q(p.policy)} ON ${where} ${parts.join(' ')}`,
          },
          `ALTER POLICY ${q(p.policy)} ON ${where} ${parts.join(' ')};`,
        ),
      );
    }
  }
  // Several permissive policies for one role and command: PostgreSQL evaluates each of them, for
  // every row, and ORs the answers. One finding per table naming each role/command pair.
  const ACTIONS: Record<string, string[]> = {
    '*': ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
    r: ['SELECT'],
    a: ['INSERT'],
    w: ['UPDATE'],
    d: ['DELETE'],
  };
  const overlaps = new Map<string, { schema: string; table: string; by: Map<string, string[]> }>();
  for (const p of rows) {
    if (!p.rls || !p.permissive) continue;
    // A policy for PUBLIC applies to the API roles too.
    const roles = new Set(p.roles.flatMap((r) => (r === 'public' ? [...API_ROLES] : [r])));
    const key = `${p.schema}.${p.table}`;
    const entry = overlaps.get(key) ?? { schema: p.schema, table: p.table, by: new Map() };
    for (const role of roles) {
      for (const action of ACTIONS[p.cmd] ?? []) {
        const pair = `${role} ${action}`;
        entry.by.set(pair, [...(entry.by.get(pair) ?? []), p.policy]);
      }
    }
    overlaps.set(key, entry);
  }
  for (const o of overlaps.values()) {
    const many = [...o.by].filter(([, names]) => names.length > 1);
    if (!many.length) continue;
    const where = qualified(o.schema, o.table);
    out.push(
      finding(
        'multiple_permissive_policies',
        'warning',
        'performance',
        { type: 'table', schema: o.schema, name: o.table },
        {
          title: 'Several permissive policies apply to the same role and command',
          message: `${where} has several permissive policies for ${many
            .map(([pair, names]) => `${pair} (${names.map(q).join(', ')})`)
            .join('; ')}`,
          why: 'Permissive policies for one role and command are all evaluated for every row and their answers ORed: each extra one adds its cost to every query, and the combined rule is harder to read than one policy.',
          remediation: `Merge the policies of each role and command into one (USING (a) OR (b)), or make those meant to narrow access AS RESTRICTIVE; it is a decision about who may see what, so no automatic fix`,
        },
        null,
      ),
    );
  }
  for (const w of anonWrites.values()) {
    const where = qualified(w.schema, w.table);
    const cmds = WRITES.filter((c) => w.cmds.has(c));
    out.push(
      finding(
        'anon_can_write',
        'warning',
        'security',
        { type: 'table', schema: w.schema, name: w.table },
        {
          title: 'The anon key can write to a table',
          message: `Anyone holding the anon key may ${cmds.join(', ')} rows of ${where}: a policy lets anon (or PUBLIC) do it and anon holds the privilege`,
          why: 'The anon key ships in every frontend: what it may write, any visitor or script may write, without signing in.',
          remediation: `REVOKE ${cmds.join(', ')} ON ${where} FROM anon, or limit the policies to authenticated`,
        },
        `REVOKE ${cmds.join(', ')} ON ${where} FROM anon;`,
        { exposedTo: ['anon'], privileges: { anon: cmds } },
      ),
    );
  }
  return out;
}

// ---- indexes -------------------------------------------------------------------------------------

async function indexRules(db: Queryable, schemas: string[]): Promise<Finding[]> {
  const out: Finding[] = [];
  // An index "covers" columns when they are its leading columns, in any order (a plain, valid,
  // non-partial index).
  const covered = `EXISTS (
      SELECT 1 FROM pg_catalog.pg_index i
       CROSS JOIN LATERAL (SELECT (pg_catalog.string_to_array(i.indkey::text, ' ')::int2[])
                                    [1:cardinality(cols)] AS lead) l
       WHERE i.indrelid = c.oid AND i.indisvalid AND i.indpred IS NULL
         AND l.lead @> cols AND l.lead <@ cols)`;

  // Foreign keys whose referencing columns no index leads with: every delete or key update of
  // the referenced row scans this table, and joins along the key cannot use an index.
  const fks = await db.query<{ schema: string; table: string; name: string; columns: string[] }>(
    `SELECT n.nspname AS schema, c.relname AS "table", k.conname AS name,
            ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord)
                    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.attnum
                   ORDER BY u.ord)::text[] AS columns
       FROM pg_catalog.pg_constraint k
       JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       CROSS JOIN LATERAL (SELECT k.conkey AS cols) x
      WHERE k.contype = 'f' AND n.nspname = ANY($1::text[]) AND NOT c.relispartition
        AND NOT ${covered}
      ORDER BY 1, 2, 3`,
    [schemas],
  );
  for (const f of fks.rows) {
    const where = qualified(f.schema, f.table);
    const cols = f.columns.map(q).join(', ');
    out.push(
      finding(
        'foreign_key_unindexed',
        'warning',
        'performance',
        { type: 'constraint', schema: f.schema, name: `${f.table}.${f.name}`, table: f.table },
        {
          title: 'A foreign key has no index',
          message: `The foreign key ${q(f.name)} on ${where} (${cols}) has no index leading with its columns`,
          why: 'Deleting or re-keying a referenced row scans this whole table to check the key, holding locks meanwhile; joins along the key cannot use an index either.',
          remediation: `CREATE INDEX ON ${where} (${cols})`,
        },
        `CREATE INDEX ON ${where} (${cols});`,
      ),
    );
  }

  // Columns policies filter on (PostgreSQL records a policy's column dependencies) that no index
  // leads with: each request scans the table to apply the policy.
  const pol = await db.query<{ schema: string; table: string; column: string }>(
    `SELECT DISTINCT n.nspname AS schema, c.relname AS "table", a.attname AS "column"
       FROM pg_catalog.pg_policy p
       JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_policy'::pg_catalog.regclass
                                  AND d.objid = p.oid AND d.refobjid = p.polrelid
                                  AND d.refobjsubid > 0
       JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid
      WHERE n.nspname = ANY($1::text[]) AND c.relkind = 'r' AND c.relrowsecurity
        AND NOT EXISTS (
          SELECT 1 FROM pg_catalog.pg_index i
           WHERE i.indrelid = c.oid AND i.indisvalid AND i.indpred IS NULL
             AND i.indkey[0] = d.refobjsubid)
      ORDER BY 1, 2, 3`,
    [schemas],
  );
  for (const p of pol.rows) {
    const where = qualified(p.schema, p.table);
    out.push(
      finding(
        'policy_column_unindexed',
        'warning',
        'performance',
        { type: 'column', schema: p.schema, name: `${p.table}.${p.column}`, table: p.table },
        {
          title: 'A column policies filter on has no index',
          message: `Row-level security policies on ${where} filter on ${q(p.column)}, and no index leads with it`,
          why: 'Every read through the API applies the policy: without an index on its column, each request scans the whole table, however few rows the caller owns.',
          remediation: `CREATE INDEX ON ${where} (${q(p.column)})`,
        },
        `CREATE INDEX ON ${where} (${q(p.column)});`,
      ),
    );
  }

  // Indexes never used on a table that is read: dead weight on every write.
  const unused = await db.query<{ schema: string; table: string; index: string; bytes: string }>(
    `SELECT s.schemaname AS schema, s.relname AS "table", s.indexrelname AS index,
            pg_catalog.pg_relation_size(s.indexrelid)::text AS bytes
       FROM pg_catalog.pg_stat_user_indexes s
       JOIN pg_catalog.pg_index i ON i.indexrelid = s.indexrelid
       JOIN pg_catalog.pg_stat_user_tables t ON t.relid = s.relid
      WHERE s.schemaname = ANY($1::text[]) AND s.idx_scan = 0
        AND NOT i.indisunique AND NOT i.indisprimary
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conindid = i.indexrelid)
        AND coalesce(t.seq_scan, 0) + coalesce(t.idx_scan, 0) >= $2
      ORDER BY 1, 2, 3`,
    [schemas, UNUSED_INDEX_MIN_SCANS],
  );
  for (const u of unused.rows) {
    out.push(
      finding(
        'unused_index',
        'info',
        'performance',
        { type: 'index', schema: u.schema, name: u.index, table: u.table },
        {
          title: 'An index is never used',
          message: `The index ${qualified(u.schema, u.index)} on ${q(u.table)} has never been used to read, though the table has been scanned ${UNUSED_INDEX_MIN_SCANS}+ times (${u.bytes} bytes)`,
          why: 'Each insert and update maintains every index: one no query uses costs writes and disk for nothing. (Counts start at the last statistics reset; check a replica’s use before dropping.)',
          remediation: `DROP INDEX ${qualified(u.schema, u.index)}`,
        },
        `DROP INDEX ${qualified(u.schema, u.index)};`,
      ),
    );
  }

  // Indexes identical to another (same columns, operator classes, expressions, predicate).
  const dup = await db.query<{
    schema: string;
    table: string;
    index: string;
    kept: string;
    constraint: boolean;
  }>(
    `WITH ix AS (
       SELECT n.nspname AS schema, c.relname AS "table", ic.relname AS index, i.indexrelid,
              EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conindid = i.indexrelid)
                AS backs_constraint,
              i.indisprimary OR i.indisunique AS strong,
              row_number() OVER w AS nth, first_value(ic.relname) OVER w AS kept
         FROM pg_catalog.pg_index i
         JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
         JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY($1::text[]) AND i.indisvalid
       WINDOW w AS (PARTITION BY i.indrelid, i.indkey::text, i.indclass::text,
                                 i.indcollation::text, ic.relam,
                                 coalesce(pg_catalog.pg_get_expr(i.indexprs, i.indrelid), ''),
                                 coalesce(pg_catalog.pg_get_expr(i.indpred, i.indrelid), ''),
                                 i.indisunique
                    ORDER BY (EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
                                       WHERE k.conindid = i.indexrelid)) DESC,
                             i.indisprimary DESC, ic.relname))
     SELECT schema, "table", index, kept, backs_constraint AS "constraint" FROM ix WHERE nth > 1 ORDER BY 1, 2, 3`,
    [schemas],
  );
  for (const d of dup.rows) {
    out.push(
      finding(
        'duplicate_index',
        'warning',
        'performance',
        { type: 'index', schema: d.schema, name: d.index, table: d.table },
        {
          title: 'An index duplicates another',
          message: `The index ${qualified(d.schema, d.index)} on ${q(d.table)} is identical to ${q(d.kept)}`,
          why: 'Two identical indexes double the cost of every write and the disk they take, and only one is ever used to read.',
          remediation: d.constraint
            ? `Both back constraints: drop the constraint that uses ${q(d.index)}`
            : `DROP INDEX ${qualified(d.schema, d.index)}`,
        },
        d.constraint ? null : `DROP INDEX ${qualified(d.schema, d.index)};`,
      ),
    );
  }
  return out;
}

// ---- health ------------------------------------------------------------------------------------

async function healthRules(db: Queryable, schemas: string[]): Promise<Finding[]> {
  const out: Finding[] = [];
  // Never analyzed and written to, or analyzed and much changed since: the planner (and the
  // dashboard's estimated counts) guess.
  const stale = await db.query<{
    schema: string;
    table: string;
    changes: string;
    live: string;
    never: boolean;
  }>(
    `SELECT t.schemaname AS schema, t.relname AS "table", t.n_mod_since_analyze::text AS changes,
            t.n_live_tup::text AS live,
            (t.last_analyze IS NULL AND t.last_autoanalyze IS NULL) AS never
       FROM pg_catalog.pg_stat_user_tables t
      WHERE t.schemaname = ANY($1::text[]) AND t.n_mod_since_analyze >= $2
        AND ((t.last_analyze IS NULL AND t.last_autoanalyze IS NULL)
             OR t.n_mod_since_analyze > $3::float8 * t.n_live_tup)
      ORDER BY 1, 2`,
    [schemas, NEVER_ANALYZED_MIN_CHANGES, STALE_STATISTICS_SHARE],
  );
  for (const s of stale.rows) {
    const where = qualified(s.schema, s.table);
    if (!s.never) {
      out.push(
        finding(
          'table_statistics_stale',
          'info',
          'health',
          { type: 'table', schema: s.schema, name: s.table },
          {
            title: 'A table’s statistics are out of date',
            message: `${where} has had ${s.changes} rows changed since it was last analyzed (it holds about ${s.live})`,
            why: 'The planner picks plans from statistics: once a fifth of the table has changed, its row counts and value distributions are wrong, and it may scan where an index would do or the reverse.',
            remediation: `ANALYZE ${where}; if it keeps coming back, ALTER TABLE ${where} SET (autovacuum_analyze_scale_factor = 0.02)`,
          },
          `ANALYZE ${where};`,
        ),
      );
      continue;
    }
    out.push(
      finding(
        'table_never_analyzed',
        'info',
        'health',
        { type: 'table', schema: s.schema, name: s.table },
        {
          title: 'A table has no statistics',
          message: `${where} has had ${s.changes} rows written and has never been analyzed`,
          why: 'Without statistics the planner guesses row counts (and picks plans) blind, and estimated counts in the dashboard and the records API are unknown.',
          remediation: `ANALYZE ${where}`,
        },
        `ANALYZE ${where};`,
      ),
    );
  }
  // Dead row versions piling up (autovacuum off, behind, or held back by an old transaction):
  // scans read them, the table and its indexes grow. VACUUM cannot run in a transaction.
  const bloat = await db.query<{ schema: string; table: string; dead: string; live: string }>(
    `SELECT t.schemaname AS schema, t.relname AS "table",
            t.n_dead_tup::text AS dead, t.n_live_tup::text AS live
       FROM pg_catalog.pg_stat_user_tables t
      WHERE t.schemaname = ANY($1::text[]) AND t.n_dead_tup > $2
        AND t.n_dead_tup > $3::float8 * (t.n_live_tup + t.n_dead_tup)
      ORDER BY 1, 2`,
    [schemas, DEAD_TUPLES_MIN, DEAD_TUPLES_SHARE],
  );
  for (const b of bloat.rows) {
    const where = qualified(b.schema, b.table);
    const dead = Number(b.dead);
    const share = Math.round((100 * dead) / (dead + Number(b.live)));
    out.push(
      finding(
        'table_bloat_dead_tuples',
        share > 50 ? 'warning' : 'info',
        'health',
        { type: 'table', schema: b.schema, name: b.table },
        {
          title: 'A table holds many dead rows',
          message: `${where} holds ${b.dead} dead row versions (${share}% of its rows) that vacuum has not reclaimed`,
          why: 'Every update and delete leaves a dead row version behind until vacuum reclaims it: scans read past them, and the table and its indexes keep growing. Autovacuum may be off, behind, or held back by a long transaction.',
          remediation: `VACUUM (ANALYZE) ${where} (outside a transaction); if it keeps coming back, ALTER TABLE ${where} SET (autovacuum_vacuum_scale_factor = 0.05) or look for sessions idle in transaction`,
        },
        `VACUUM (ANALYZE) ${where};`,
        {},
        false,
      ),
    );
  }
  // Sequences (serial and identity columns) close to their maximum: inserts will start failing.
  const seqs = await db.query<{ schema: string; name: string; used: number; max: string }>(
    `SELECT s.schemaname AS schema, s.sequencename AS name, s.max_value::text AS max,
            (coalesce(s.last_value, s.start_value)::numeric - s.min_value::numeric)
              / nullif(s.max_value::numeric - s.min_value::numeric, 0)::float8 AS used
       FROM pg_catalog.pg_sequences s
      WHERE s.schemaname = ANY($1::text[]) AND s.increment_by > 0 AND NOT s.cycle
      ORDER BY 1, 2`,
    [schemas],
  );
  for (const s of seqs.rows) {
    if (!(s.used >= SEQUENCE_USED_WARNING)) continue;
    out.push(
      finding(
        'sequence_near_exhaustion',
        s.used >= 0.9 ? 'critical' : 'warning',
        'health',
        { type: 'sequence', schema: s.schema, name: s.name },
        {
          title: 'A sequence is running out of values',
          message: `The sequence ${qualified(s.schema, s.name)} has used ${Math.floor(s.used * 100)}% of its range (max ${s.max})`,
          why: 'When it reaches its maximum, every insert that needs a new id fails.',
          remediation: `ALTER SEQUENCE ${qualified(s.schema, s.name)} AS bigint MAXVALUE 9223372036854775807, and change the column it feeds to bigint`,
        },
        null,
      ),
    );
  }
  return out;
}

// ---- runtime: sessions, connections, cache --------------------------------------------------------

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Where the runtime findings point: the statistics view to look at. */
const ACTIVITY = { type: 'database', schema: 'pg_catalog', name: 'pg_stat_activity' } as const;

/**
 * What the database is doing now: one round trip reads the sessions of this database that are
 * not Kiln's own (its pools share the advisor connection's application_name, or it with a
 * suffix) and are idle in a transaction or running a statement past the thresholds, plus the
 * connection count and the cache counters. Only sessions Kiln's role may see in full appear
 * (its own role's, those of roles it has the privileges of, or all with pg_read_all_stats), and
 * the fix signals only those it may signal: roles whose privileges it has, or any with
 * pg_signal_backend, never a superuser's unless Kiln's role is one.
 */
async function runtimeRules(
  db: Queryable,
  limits: Required<AdvisorThresholds>,
): Promise<Finding[]> {
  const { rows } = await db.query<{
    sessions: Array<{
      pid: number;
      role: string;
      state: string;
      seconds: number;
      query: string;
      signalable: boolean;
    }> | null;
    waiting: Array<{
      pid: number;
      role: string;
      query: string | null;
      seconds: number;
      blockers: number[];
    }> | null;
    blocking: Array<{
      pid: number;
      role: string;
      state: string;
      query: string;
      signalable: boolean;
    }> | null;
    connections: number;
    max_connections: number;
    blocks_hit: string;
    blocks_read: string;
  }>(
    `WITH me AS (SELECT pg_catalog.current_setting('application_name') AS app,
                        (SELECT r.rolsuper FROM pg_catalog.pg_roles r
                          WHERE r.rolname = current_user) AS superuser),
          s AS (
            SELECT a.pid, a.usename AS role, a.state, a.query,
                   floor(extract(epoch FROM clock_timestamp() -
                     CASE WHEN a.state = 'active' THEN a.query_start ELSE a.state_change END))::int
                     AS seconds,
                   (me.superuser OR (NOT coalesce(u.rolsuper, false) AND (
                      pg_catalog.pg_has_role(current_user, a.usesysid, 'USAGE')
                      OR pg_catalog.pg_has_role(current_user, 'pg_signal_backend', 'USAGE'))))
                     AS signalable
              FROM pg_catalog.pg_stat_activity a
              CROSS JOIN me
              LEFT JOIN pg_catalog.pg_roles u ON u.oid = a.usesysid
             WHERE a.datname = pg_catalog.current_database() AND a.backend_type = 'client backend'
               AND a.pid <> pg_catalog.pg_backend_pid()
               AND a.application_name <> me.app
               AND NOT starts_with(a.application_name, me.app || '-')
               AND ((a.state IN ('idle in transaction', 'idle in transaction (aborted)')
                     AND a.state_change < clock_timestamp() - make_interval(secs => $1))
                 OR (a.state = 'active'
                     AND a.query_start < clock_timestamp() - make_interval(secs => $2)))),
          -- Any backend of this database (Kiln's own requests, autovacuum workers included)
          -- waiting for a lock past the threshold, and who holds it up.
          w AS (
            SELECT a.pid, coalesce(a.usename, a.backend_type) AS role, left(a.query, 100) AS query,
                   floor(extract(epoch FROM clock_timestamp() -
                     coalesce(a.query_start, a.xact_start, a.backend_start)))::int AS seconds,
                   pg_catalog.pg_blocking_pids(a.pid) AS blockers
              FROM pg_catalog.pg_stat_activity a
             WHERE a.datname = pg_catalog.current_database() AND a.wait_event_type = 'Lock'
               AND a.pid <> pg_catalog.pg_backend_pid()
               AND coalesce(a.query_start, a.xact_start, a.backend_start)
                     < clock_timestamp() - make_interval(secs => $3)),
          b AS (
            SELECT a.pid, coalesce(a.usename, a.backend_type, '?') AS role,
                   coalesce(a.state, '?') AS state, left(coalesce(a.query, ''), 100) AS query,
                   (a.application_name IS NOT NULL AND a.application_name <> me.app
                    AND NOT starts_with(a.application_name, me.app || '-')
                    AND (me.superuser OR (NOT coalesce(u.rolsuper, false) AND (
                      pg_catalog.pg_has_role(current_user, a.usesysid, 'USAGE')
                      OR pg_catalog.pg_has_role(current_user, 'pg_signal_backend', 'USAGE')))))
                     AS signalable
              FROM pg_catalog.pg_stat_activity a
              CROSS JOIN me
              LEFT JOIN pg_catalog.pg_roles u ON u.oid = a.usesysid
             WHERE a.pid IN (SELECT unnest(w.blockers) FROM w))
     SELECT (SELECT jsonb_agg(to_jsonb(s) ORDER BY s.pid) FROM s) AS sessions,
            (SELECT jsonb_agg(to_jsonb(w) ORDER BY w.pid) FROM w) AS waiting,
            (SELECT jsonb_agg(to_jsonb(b) ORDER BY b.pid) FROM b) AS blocking,
            (SELECT count(*)::int FROM pg_catalog.pg_stat_activity
              WHERE backend_type = 'client backend') AS connections,
            (SELECT pg_catalog.current_setting('max_connections')::int
                    - pg_catalog.current_setting('superuser_reserved_connections')::int)
              AS max_connections,
            d.blks_hit::text AS blocks_hit, d.blks_read::text AS blocks_read
       FROM pg_catalog.pg_stat_database d WHERE d.datname = pg_catalog.current_database()`,
    [limits.idleInTransactionSeconds, limits.longRunningSeconds, limits.lockWaitSeconds],
  );
  const out: Finding[] = [];
  const r = rows[0];
  if (!r) return out;
  const sessions = r.sessions ?? [];
  const describe = (list: typeof sessions) =>
    list.map((x) => `pid ${x.pid} (${x.role}, ${x.seconds} s)`).join(', ');
  const pids = (list: typeof sessions) => list.map((x) => x.pid).join(', ');

  const idle = sessions.filter((x) => x.state !== 'active');
  if (idle.length) {
    const mine = idle.filter((x) => x.signalable);
    out.push(
      finding(
        'idle_in_transaction_sessions',
        'warning',
        'health',
        ACTIVITY,
        {
          title: 'Sessions sit idle inside a transaction',
          message: `${idle.length} session(s) idle in a transaction for more than ${limits.idleInTransactionSeconds} s: ${describe(idle)}`,
          why: 'An open transaction keeps its locks and stops vacuum from reclaiming any row version newer than its snapshot, in every table: writers queue behind it and tables bloat. It is usually a client that forgot to commit or roll back.',
          remediation: `End them: SELECT pg_terminate_backend(pid) for pid ${pids(idle)} (their transactions roll back); find the client that leaves transactions open, and consider ALTER DATABASE … SET idle_in_transaction_session_timeout = '60s'`,
        },
        mine.length
          ? `SELECT pg_catalog.pg_terminate_backend(pid, 5000) FROM unnest(ARRAY[${pids(mine)}]::int[]) AS pid;`
          : null,
      ),
    );
  }
  const running = sessions.filter((x) => x.state === 'active');
  if (running.length) {
    const mine = running.filter((x) => x.signalable);
    const longest = Math.max(...running.map((x) => x.seconds));
    out.push(
      finding(
        'long_running_queries',
        longest >= 30 * 60 ? 'critical' : 'warning',
        'performance',
        ACTIVITY,
        {
          title: 'Statements have been running for a long time',
          message: `${running.length} statement(s) running for more than ${limits.longRunningSeconds} s: ${running
            .map((x) => `pid ${x.pid} (${x.role}, ${x.seconds} s): ${x.query.slice(0, 100)}`)
            .join('; ')}`,
          why: 'A statement that runs for minutes holds its locks and its snapshot all along: writers wait, vacuum cannot clean up behind it, and it takes a connection out of the pool.',
          remediation: `Cancel them: SELECT pg_cancel_backend(pid) for pid ${pids(running)} (pg_terminate_backend ends the session if cancelling is not enough); then EXPLAIN the query, and set a statement_timeout for the role that runs it`,
        },
        mine.length
          ? `SELECT pg_catalog.pg_cancel_backend(pid) FROM unnest(ARRAY[${pids(mine)}]::int[]) AS pid;`
          : null,
      ),
    );
  }

  const waiting = r.waiting ?? [];
  if (waiting.length) {
    const blocking = r.blocking ?? [];
    const mine = blocking.filter((x) => x.signalable);
    const longest = Math.max(...waiting.map((x) => x.seconds));
    const who = (pid: number) => {
      const b = blocking.find((x) => x.pid === pid);
      return b ? `pid ${pid} (${b.role}, ${b.state}: ${b.query})` : `pid ${pid}`;
    };
    out.push(
      finding(
        'sessions_blocked_by_locks',
        longest >= 30 * 60 ? 'critical' : 'warning',
        'health',
        ACTIVITY,
        {
          title: 'Sessions are waiting for locks others hold',
          message: `${waiting.length} session(s) waiting for a lock for more than ${limits.lockWaitSeconds} s: ${waiting
            .map(
              (x) =>
                `pid ${x.pid} (${x.role}, ${x.seconds} s${x.query ? `: ${x.query}` : ''}) blocked by ${x.blockers.map(who).join(', ') || 'a lock already released'}`,
            )
            .join('; ')}`,
          why: 'A lock held too long queues everything behind it: API requests on the table hang until they time out, and a blocked autovacuum leaves dead rows and transaction-id age piling up.',
          remediation: `End the blocking session(s) (SELECT pg_terminate_backend(pid); their transactions roll back), then find why they hold the lock so long (an open transaction, a long DDL); lock_timeout on the roles that take such locks keeps it from recurring`,
        },
        mine.length
          ? `SELECT pg_catalog.pg_terminate_backend(pid, 5000) FROM unnest(ARRAY[${mine.map((x) => x.pid).join(', ')}]::int[]) AS pid;`
          : null,
      ),
    );
  }

  const used = (100 * r.connections) / Math.max(1, r.max_connections);
  if (used >= limits.connectionsUsedPercent) {
    out.push(
      finding(
        'connections_near_limit',
        used >= 95 ? 'critical' : 'warning',
        'health',
        ACTIVITY,
        {
          title: 'Connections are close to the limit',
          message: `${r.connections} client connections are open of ${r.max_connections} available (${Math.round(used)}%)`,
          why: 'When max_connections is reached, every new connection is refused: Kiln’s own pools, scripts, migrations and admin tools alike. Idle connections hold their slot too.',
          remediation:
            'Find who holds them (SELECT usename, application_name, state, count(*) FROM pg_stat_activity GROUP BY 1, 2, 3), end idle sessions, size client pools down or put a pooler (PgBouncer, transaction mode) in front, or raise max_connections (a restart)',
        },
        null,
      ),
    );
  }

  const hit = Number(r.blocks_hit);
  const read = Number(r.blocks_read);
  const ratio = hit + read > 0 ? (100 * hit) / (hit + read) : 100;
  if (hit + read >= CACHE_MIN_BLOCKS && ratio < limits.cacheHitPercent) {
    out.push(
      finding(
        'low_cache_hit_ratio',
        ratio < 90 ? 'critical' : 'warning',
        'performance',
        { type: 'database', schema: 'pg_catalog', name: 'pg_stat_database' },
        {
          title: 'Reads often miss the buffer cache',
          message: `${ratio.toFixed(2)}% of the ${hit + read} blocks this database read came from the buffer cache (below ${limits.cacheHitPercent}%)`,
          why: 'A block not in shared buffers is read from the operating system or the disk, many times slower: a low hit ratio means the working set does not fit, or queries scan far more than they need.',
          remediation:
            'Look for scans of big tables (missing indexes: see the other findings, EXPLAIN the slow queries), and give PostgreSQL more shared_buffers (about a quarter of RAM; a restart). Counters run since the last statistics reset',
        },
        null,
      ),
    );
  }
  return out;
}

// ---- auth settings -------------------------------------------------------------------------------

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$|\.localhost$/i;

/**
 * Kiln's auth settings (auth.config, read live by the auth service, so an UPDATE there is the
 * same change as PUT /api/auth/config): what makes accounts easy to take over.
 */
async function authRules(db: Queryable): Promise<Finding[]> {
  const { rows } = await db.query<{
    min_length: number;
    verification: boolean;
    redirects: string[];
  }>(
    `SELECT password_min_length AS min_length, require_email_verification AS verification,
            allowed_redirect_urls AS redirects
       FROM auth.config`,
  );
  const c = rows[0];
  if (!c) return [];
  const out: Finding[] = [];
  const setting = (name: string) =>
    ({ type: 'setting', schema: 'auth', name: `config.${name}` }) as const;
  if (c.min_length < PASSWORD_MIN_LENGTH) {
    out.push(
      finding(
        'auth_password_min_length',
        'warning',
        'security',
        setting('passwordMinLength'),
        {
          title: 'Passwords may be shorter than 8 characters',
          message: `New passwords need only ${c.min_length} characters`,
          why: 'Short passwords fall to guessing: a leaked hash of a 6-character password is cracked in minutes, and common short ones are tried first online. Existing passwords keep working after the change; new and reset ones must be longer.',
          remediation: `PUT /api/auth/config {"passwordMinLength": ${PASSWORD_MIN_LENGTH}} (or more)`,
        },
        `UPDATE auth.config SET password_min_length = ${PASSWORD_MIN_LENGTH};`,
      ),
    );
  }
  if (!c.verification) {
    out.push(
      finding(
        'auth_email_verification_off',
        'info',
        'security',
        setting('requireEmailVerification'),
        {
          title: 'Email addresses are not verified',
          message: 'Users can sign in without proving they own the address they signed up with',
          why: 'Without verification anyone can sign up with someone else’s address: they hold that account until the owner resets it, and anything your app grants by address or domain is theirs.',
          remediation:
            'Make sure mail is delivered (SMTP in the Authentication settings), then PUT /api/auth/config {"requireEmailVerification": true}; a decision, since users cannot sign in until mail reaches them',
        },
        null,
      ),
    );
  }
  const insecure = c.redirects.filter((u) => {
    const m = /^http:\/\/([^/:?#]+|\[[^\]]+\])/i.exec(u);
    return m !== null && !LOOPBACK.test(m[1]!);
  });
  if (insecure.length) {
    const kept = c.redirects.filter((u) => !insecure.includes(u));
    out.push(
      finding(
        'auth_redirect_url_insecure',
        'warning',
        'security',
        setting('allowedRedirectUrls'),
        {
          title: 'Sign-in may redirect to plain http',
          message: `Allowed redirect URLs over plain http (not a local address): ${insecure.join(', ')}`,
          why: 'Email links and OAuth sign-ins hand their tokens to the redirect URL: over plain http anyone on the network path (public Wi-Fi, a proxy) can read them and take the session.',
          remediation: `Serve the app over https and list its https URL: PUT /api/auth/config {"allowedRedirectUrls": ${JSON.stringify([...kept, ...insecure.map((u) => u.replace(/^http:/i, 'https:'))])}}`,
        },
        null,
      ),
    );
  }
  return out;
}
