import crypto from 'node:crypto';
import pg from 'pg';
import { SAFE_SEARCH_PATH } from './search-path.js';

/** Kiln's own schemas (the ones its migrations create). */
export const KILN_SCHEMAS = [
  'system',
  'auth',
  'storage',
  'realtime',
  'functions',
  'ai',
  'logs',
  'jobs',
  'payments',
  // graphile-worker's tables (jobs/worker.ts), migrated by core/migrate.ts.
  'graphile_worker',
];

/**
 * Requests run on connections of dedicated login roles (the "authenticators") that own nothing
 * and are granted only request roles, NOINHERIT. A request switches to its role with SET LOCAL
 * ROLE; SQL that resets the role (raw SQL, a function body) falls back to a role with no
 * privileges, never to the owner of the database. Two of them: one for anon / authenticated
 * requests, one for project_admin, so SQL running as anon can never SET ROLE project_admin
 * (PostgreSQL checks SET ROLE against the login role's memberships).
 *
 * One pair per database (roles are cluster-wide); the passwords are derived from the JWT secret,
 * so every instance sharing the secret can connect without more configuration.
 */
export async function ensureAuthenticators(
  client: pg.ClientBase,
  connectionString: string,
  secret: string,
): Promise<{ requests: string; admin: string; owner: string }> {
  const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
  const database = rows[0]!.db;
  const hash = crypto.createHash('sha256').update(database).digest('hex').slice(0, 16);
  const login = async (
    role: string,
    purpose: string,
    grants: string[],
    attributes = 'NOINHERIT NOCREATEDB NOCREATEROLE',
  ) => {
    const password = crypto
      .createHmac('sha256', secret)
      .update(`${purpose}:${database}`)
      .digest('base64url');
    const ident = pg.escapeIdentifier(role);
    const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    const verb = exists.rowCount ? 'ALTER' : 'CREATE';
    await client.query(
      `${verb} ROLE ${ident} WITH LOGIN ${attributes} PASSWORD ${pg.escapeLiteral(password)}`,
    );
    await client.query(`GRANT ${grants.join(', ')} TO ${ident}`);
    const url = new URL(connectionString);
    url.username = encodeURIComponent(role);
    url.password = encodeURIComponent(password);
    return url.toString();
  };
  return {
    owner: await ensureOwner(client, connectionString, database, hash, login),
    // A new name: instances of earlier versions keep using kiln_auth_<hash> (which may also
    // become project_admin) until they are replaced, so a rolling upgrade never breaks them.
    // Once every instance runs this version, that role is unused; DROP ROLE it at leisure.
    requests: await login(`kiln_req_${hash}`, 'kiln-request-authenticator', [
      'anon',
      'authenticated',
    ]),
    admin: await login(`kiln_admin_${hash}`, 'kiln-admin-authenticator', ['project_admin']),
  };
}

/**
 * The login role Kiln's own services run on. Only migrations and this bootstrap need more than
 * read and write access to Kiln's tables, so when the configured connection is a superuser (the
 * embedded PostgreSQL, a self-managed server) the services connect as `kiln_owner_<hash>`:
 * NOSUPERUSER; SELECT / INSERT / UPDATE / DELETE on the tables of Kiln's schemas, their
 * sequences and functions, BYPASSRLS (storage and realtime read every row of their RLS tables);
 * a member of the request roles, as the configured role is; CREATE on the database and on
 * public (unrestricted raw SQL runs as it). Whatever SQL it is made to run (a planted overload,
 * a cast, a trigger) cannot reach the operating system (COPY … TO PROGRAM), files, other
 * databases or roles.
 *
 * It owns none of Kiln's objects: the configured (superuser) role keeps them, so nothing the
 * runtime role can change (a function body, a trigger) is ever run by the superuser during a
 * later migration. SECURITY DEFINER functions belong to a third role, `kiln_definer_<hash>`
 * (NOLOGIN, nobody is a member of it, the same table access): a definer function runs as its
 * owner, and user code reaching one (a cast to json of a user type inside to_jsonb(NEW), say)
 * must not run as a superuser either.
 *
 * A configured role that is not a superuser (managed PostgreSQL) stays the runtime role, as
 * before. Instances of earlier versions keep connecting as the configured role, which as a
 * superuser still reaches everything: rolling upgrades keep working.
 */
async function ensureOwner(
  client: pg.ClientBase,
  connectionString: string,
  database: string,
  hash: string,
  login: (role: string, purpose: string, grants: string[], attributes?: string) => Promise<string>,
): Promise<string> {
  const { rows } = await client.query<{ superuser: boolean }>(
    'SELECT rolsuper AS superuser FROM pg_catalog.pg_roles WHERE rolname = current_user',
  );
  if (!rows[0]?.superuser) return connectionString;
  const role = `kiln_owner_${hash}`;
  const owner = pg.escapeIdentifier(role);
  const url = await login(
    role,
    'kiln-owner',
    ['anon', 'authenticated', 'project_admin'],
    'INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION BYPASSRLS',
  );
  await client.query(`ALTER ROLE ${owner} SET search_path = ${SAFE_SEARCH_PATH}`);
  const definerRole = `kiln_definer_${hash}`;
  const definer = pg.escapeIdentifier(definerRole);
  const exists = await client.query('SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1', [
    definerRole,
  ]);
  await client.query(
    `${exists.rowCount ? 'ALTER' : 'CREATE'} ROLE ${definer} WITH NOLOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION BYPASSRLS`,
  );
  const db = pg.escapeIdentifier(database);
  await client.query(`GRANT CONNECT, CREATE, TEMPORARY ON DATABASE ${db} TO ${owner}`);
  await client.query(`GRANT USAGE, CREATE ON SCHEMA public TO ${owner}`);
  // What it creates in public (unrestricted raw SQL) is usable by the request roles, as what
  // the configured role and project_admin create there (migrations 0001 and 0003).
  for (const kind of ['TABLES', 'SEQUENCES', 'FUNCTIONS']) {
    await client.query(
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA public GRANT ALL ON ${kind} TO anon, authenticated, project_admin`,
    );
  }
  // Table access to everything in Kiln's schemas, including what later migrations add (this
  // runs at every start), and the SECURITY DEFINER functions handed to the definer role.
  const { rows: present } = await client.query<{ name: string }>(
    'SELECT nspname AS name FROM pg_catalog.pg_namespace WHERE nspname = ANY ($1) ORDER BY 1',
    [KILN_SCHEMAS],
  );
  if (present.length) {
    const schemas = present.map((r) => pg.escapeIdentifier(r.name)).join(', ');
    const both = `${owner}, ${definer}`;
    await client.query(`GRANT USAGE ON SCHEMA ${schemas} TO ${both}`);
    await client.query(
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schemas} TO ${both}`,
    );
    await client.query(
      `GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA ${schemas} TO ${both}`,
    );
    await client.query(`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${schemas} TO ${both}`);
  }
  const { rows: definers } = await client.query<{ name: string }>(
    `SELECT p.oid::pg_catalog.regprocedure::text AS name
       FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = ANY ($1) AND p.prosecdef
        AND p.proowner <> (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $2)`,
    [KILN_SCHEMAS, definerRole],
  );
  for (const fn of definers) {
    await client.query(`ALTER FUNCTION ${fn.name} OWNER TO ${definer}`);
  }
  return url;
}
