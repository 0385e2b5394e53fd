import crypto from 'node:crypto';
import pg from 'pg';

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
): Promise<{ requests: string; admin: string }> {
  const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
  const database = rows[0]!.db;
  const hash = crypto.createHash('sha256').update(database).digest('hex').slice(0, 16);
  const login = async (role: string, purpose: string, grants: string[]) => {
    const password = crypto
      .createHmac('sha256', secret)
      .update(`${purpose}:${database}`)
      .digest('base64url');
    const ident = pg.escapeIdentifier(role);
    const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    const verb = exists.rowCount ? 'ALTER' : 'CREATE';
    await client.query(
      `${verb} ROLE ${ident} WITH LOGIN NOINHERIT NOCREATEDB NOCREATEROLE PASSWORD ${pg.escapeLiteral(password)}`,
    );
    await client.query(`GRANT ${grants.join(', ')} TO ${ident}`);
    const url = new URL(connectionString);
    url.username = encodeURIComponent(role);
    url.password = encodeURIComponent(password);
    return url.toString();
  };
  return {
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
