-- Up Migration

-- Settings an admin changes at run time (PATCH /api/settings), overriding the environment's value
-- or the default until removed. One row per overridden setting; every instance re-reads the table
-- within seconds (backend/src/settings/runtime.ts). Kiln's own schema: out of reach of
-- project_admin and the API roles.
CREATE TABLE system.runtime_settings (
  name text PRIMARY KEY CHECK (name ~ '^[a-zA-Z][a-zA-Z0-9]{0,63}$'),
  value jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration

DROP TABLE IF EXISTS system.runtime_settings;
