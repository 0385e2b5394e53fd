-- Up Migration

-- File metadata lives here, under RLS, so the same policies govern the storage API and SQL.
-- The bytes live with the storage provider under `storage_path`, a name Kiln picks for each
-- version of an object: replacing an object writes a new path, then swaps the row.
CREATE SCHEMA IF NOT EXISTS storage;

CREATE TABLE storage.buckets (
  name text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
  public boolean NOT NULL DEFAULT false,
  allowed_mime_types text[],
  max_file_size bigint CHECK (max_file_size > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER buckets_touch_updated_at BEFORE UPDATE ON storage.buckets
  FOR EACH ROW EXECUTE FUNCTION system.touch_updated_at();

CREATE TABLE storage.objects (
  bucket text NOT NULL REFERENCES storage.buckets (name) ON UPDATE CASCADE,
  key text NOT NULL CHECK (length(key) BETWEEN 1 AND 1024),
  storage_path text NOT NULL UNIQUE,
  size bigint NOT NULL,
  mime_type text NOT NULL,
  etag text NOT NULL,
  owner uuid DEFAULT auth.uid(),
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (bucket, key)
);
CREATE INDEX objects_bucket_key_pattern ON storage.objects (bucket, key text_pattern_ops);
CREATE INDEX objects_owner ON storage.objects (owner);

-- Presigned uploads waiting for their confirm call (S3 provider).
CREATE TABLE storage.pending_uploads (
  storage_path text PRIMARY KEY,
  bucket text NOT NULL REFERENCES storage.buckets (name) ON DELETE CASCADE,
  key text NOT NULL,
  owner uuid,
  content_type text NOT NULL,
  max_size bigint NOT NULL,
  expires_at timestamptz NOT NULL
);

GRANT USAGE ON SCHEMA storage TO anon, authenticated, project_admin;
GRANT SELECT ON storage.buckets TO anon, authenticated;
GRANT ALL ON storage.buckets TO project_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON storage.objects TO anon, authenticated, project_admin;
GRANT SELECT, INSERT, DELETE ON storage.pending_uploads TO authenticated, project_admin;

ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;
ALTER TABLE storage.pending_uploads ENABLE ROW LEVEL SECURITY;

-- Anyone may read objects of public buckets.
CREATE POLICY objects_public_read ON storage.objects FOR SELECT TO anon, authenticated
  USING (EXISTS (SELECT 1 FROM storage.buckets b WHERE b.name = bucket AND b.public));
-- Signed-in users own what they upload: read, replace and delete their own objects.
CREATE POLICY objects_owner_select ON storage.objects FOR SELECT TO authenticated USING (owner = auth.uid());
CREATE POLICY objects_owner_insert ON storage.objects FOR INSERT TO authenticated WITH CHECK (owner = auth.uid());
CREATE POLICY objects_owner_update ON storage.objects FOR UPDATE TO authenticated
  USING (owner = auth.uid()) WITH CHECK (owner = auth.uid());
CREATE POLICY objects_owner_delete ON storage.objects FOR DELETE TO authenticated USING (owner = auth.uid());
CREATE POLICY pending_owner ON storage.pending_uploads FOR ALL TO authenticated
  USING (owner = auth.uid()) WITH CHECK (owner = auth.uid());

-- Down Migration

DROP SCHEMA IF EXISTS storage CASCADE;
