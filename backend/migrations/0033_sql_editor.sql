-- Up Migration

-- The dashboard's SQL editor: snippets admins save, and the history of raw SQL run through
-- POST /api/database/advance/rawsql[/unrestricted] (the newest rows only: Kiln prunes the rest
-- as it records). Kiln's own schema: out of reach of project_admin and the API roles.
CREATE TABLE system.sql_snippets (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  sql text NOT NULL,
  folder text,
  description text,
  created_by text NOT NULL,
  updated_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sql_snippets_folder_name_idx ON system.sql_snippets (folder, name);

CREATE TABLE system.sql_history (
  id bigserial PRIMARY KEY,
  sql text NOT NULL,
  mode text NOT NULL,
  status text NOT NULL CHECK (status IN ('success', 'error')),
  duration_ms integer NOT NULL,
  row_count bigint,
  error_code text,
  error_message text,
  error_position integer,
  run_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration

DROP TABLE IF EXISTS system.sql_history;
DROP TABLE IF EXISTS system.sql_snippets;
