/** Roles (PostgreSQL's own pg_* left out) and the table privileges granted to them. */
import type { Queryable, RelationFilter } from './common.js';

export interface RoleRow {
  name: string;
  canLogin: boolean;
  bypassRls: boolean;
  superuser: boolean;
  /** Roles it is a member of. */
  memberOf: string[];
}

export async function loadRoles(db: Queryable): Promise<RoleRow[]> {
  const { rows } = await db.query<RoleRow>(
    `SELECT r.rolname AS name, r.rolcanlogin AS "canLogin", r.rolbypassrls AS "bypassRls", r.rolsuper AS superuser,
            array(SELECT b.rolname::text FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid WHERE m.member = r.oid) AS "memberOf"
     FROM pg_roles r WHERE r.rolname NOT LIKE 'pg\\_%' ORDER BY r.rolname`,
  );
  return rows;
}

export interface GrantRow {
  schema: string;
  table: string;
  grantee: string;
  /** SELECT, INSERT…, in name order. */
  privileges: string[];
}

/** Table privileges per grantee. */
export async function loadGrants(db: Queryable, filter: RelationFilter): Promise<GrantRow[]> {
  const { rows } = await db.query<GrantRow>(
    `SELECT table_schema AS schema, table_name AS table, grantee, array_agg(privilege_type::text ORDER BY privilege_type) AS privileges
     FROM information_schema.role_table_grants
     WHERE table_schema = ANY($1) AND ($2::text IS NULL OR table_name = $2)
     GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    [filter.schemas, filter.table ?? null],
  );
  return rows;
}
