import crypto from 'node:crypto';
import pg from 'pg';

/**
 * Requests run on connections of a dedicated login role (the "authenticator") that owns nothing
 * and is granted only the three request roles, NOINHERIT. A request switches to its role with
 * SET LOCAL ROLE; SQL that resets the role (raw SQL, a function body) falls back to a role with
 * no privileges, never to the owner of the database.
 *
 * One authenticator per database (roles are cluster-wide); its password is derived from the JWT
 * secret, so every instance sharing the secret can connect without more configuration.
 */
export async function ensureAuthenticator(
  client: pg.ClientBase,
  connectionString: string,
  secret: string,
): Promise<string> {
  const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
  const database = rows[0]!.db;
  const role = `kiln_auth_${crypto.createHash('sha256').update(database).digest('hex').slice(0, 16)}`;
  const password = crypto
    .createHmac('sha256', secret)
    .update(`kiln-authenticator:${database}`)
    .digest('base64url');
  const ident = pg.escapeIdentifier(role);
  const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  const verb = exists.rowCount ? 'ALTER' : 'CREATE';
  await client.query(
    `${verb} ROLE ${ident} WITH LOGIN NOINHERIT NOCREATEDB NOCREATEROLE PASSWORD ${pg.escapeLiteral(password)}`,
  );
  await client.query(`GRANT anon, authenticated, project_admin TO ${ident}`);
  const url = new URL(connectionString);
  url.username = encodeURIComponent(role);
  url.password = encodeURIComponent(password);
  return url.toString();
}
