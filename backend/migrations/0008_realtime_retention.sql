-- Up Migration

CREATE TABLE realtime.config (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  retention_days integer NOT NULL DEFAULT 7 CHECK (retention_days BETWEEN 1 AND 3650),
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO realtime.config DEFAULT VALUES;

-- Down Migration

DROP TABLE IF EXISTS realtime.config;
