-- Up Migration

-- Admin DDL (tables API, migrations, restricted raw SQL) runs as project_admin, so objects it
-- creates in public get the same grants as objects created by the owner: RLS decides access.
ALTER DEFAULT PRIVILEGES FOR ROLE project_admin IN SCHEMA public
  GRANT ALL ON TABLES TO anon, authenticated, project_admin;
ALTER DEFAULT PRIVILEGES FOR ROLE project_admin IN SCHEMA public
  GRANT ALL ON SEQUENCES TO anon, authenticated, project_admin;
ALTER DEFAULT PRIVILEGES FOR ROLE project_admin IN SCHEMA public
  GRANT ALL ON FUNCTIONS TO anon, authenticated, project_admin;

-- Kiln's own schemas stay closed to request roles (auth keeps USAGE for auth.uid() & co).
REVOKE ALL ON SCHEMA system FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA auth FROM anon, authenticated, project_admin;

-- Down Migration

ALTER DEFAULT PRIVILEGES FOR ROLE project_admin IN SCHEMA public
  REVOKE ALL ON TABLES FROM anon, authenticated, project_admin;
ALTER DEFAULT PRIVILEGES FOR ROLE project_admin IN SCHEMA public
  REVOKE ALL ON SEQUENCES FROM anon, authenticated, project_admin;
ALTER DEFAULT PRIVILEGES FOR ROLE project_admin IN SCHEMA public
  REVOKE ALL ON FUNCTIONS FROM anon, authenticated, project_admin;
