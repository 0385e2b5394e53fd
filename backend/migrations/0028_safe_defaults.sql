-- Up Migration

-- ---- AI: per-user allowances that are never "unlimited" by accident -----------------------
-- A limit left NULL follows the server's default (AI_USER_DAILY_REQUESTS / _TOKENS / _IMAGES);
-- 0 says "unlimited" on purpose. requests_per_day is new.
ALTER TABLE ai.config ADD COLUMN requests_per_day integer;
ALTER TABLE ai.config DROP CONSTRAINT IF EXISTS config_requests_per_minute_check;
ALTER TABLE ai.config DROP CONSTRAINT IF EXISTS config_tokens_per_day_check;
ALTER TABLE ai.config DROP CONSTRAINT IF EXISTS config_images_per_day_check;
ALTER TABLE ai.config
  ADD CONSTRAINT config_limits_not_negative CHECK (
    coalesce(requests_per_minute, 0) >= 0 AND coalesce(requests_per_day, 0) >= 0
    AND coalesce(tokens_per_day, 0) >= 0 AND coalesce(images_per_day, 0) >= 0);

-- ---- Storage: who may upload where, and how much ------------------------------------------
-- Signed-in users upload into a bucket only when the bucket says so. New buckets say no until
-- an admin opens them; buckets that exist already keep accepting uploads (apps relying on it
-- keep working across the upgrade).
ALTER TABLE storage.buckets ADD COLUMN allow_user_uploads boolean NOT NULL DEFAULT false;
UPDATE storage.buckets SET allow_user_uploads = true;

-- Settings the policies read. Kiln writes them at start from its configuration
-- (STORAGE_USER_QUOTA_BYTES); NULL or 0 = unlimited. Nobody but Kiln can read or change them.
CREATE TABLE storage.settings (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  user_quota_bytes bigint CHECK (user_quota_bytes >= 0)
);
INSERT INTO storage.settings (user_quota_bytes) VALUES (1073741824);

-- May the signed-in caller store `p_size` bytes as (bucket, key)? False when the bucket does
-- not take user uploads; an error (SQLSTATE 53400) when the caller's objects, all buckets
-- together and without the version being replaced, would pass the quota. A per-user lock makes
-- parallel uploads of one user count each other (the query after it sees what they committed).
CREATE FUNCTION storage.user_may_store(p_bucket text, p_key text, p_size bigint)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  caller uuid := auth.uid();
  quota bigint;
  used bigint;
BEGIN
  IF caller IS NULL THEN
    RETURN false;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM storage.buckets b WHERE b.name = p_bucket AND b.allow_user_uploads) THEN
    RETURN false;
  END IF;
  SELECT s.user_quota_bytes INTO quota FROM storage.settings s;
  IF quota IS NULL OR quota = 0 THEN
    RETURN true;
  END IF;
  PERFORM pg_catalog.pg_advisory_xact_lock(
    pg_catalog.hashtextextended('storage-quota:' || caller::text, 0));
  SELECT coalesce(sum(o.size), 0) INTO used FROM storage.objects o
   WHERE o.owner = caller AND NOT (o.bucket = p_bucket AND o.key = p_key);
  IF used + p_size > quota THEN
    RAISE EXCEPTION USING
      ERRCODE = '53400',
      MESSAGE = format('Storage quota exceeded: %s of %s bytes used, this file needs %s more',
                       used, quota, p_size);
  END IF;
  RETURN true;
END
$$;
REVOKE ALL ON FUNCTION storage.user_may_store(text, text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION storage.user_may_store(text, text, bigint) TO authenticated;

-- The policies are the one gate: a user's new object or new version passes only through here.
DROP POLICY objects_owner_insert ON storage.objects;
CREATE POLICY objects_owner_insert ON storage.objects FOR INSERT TO authenticated
  WITH CHECK (owner = auth.uid() AND storage.user_may_store(bucket, key, size));
DROP POLICY objects_owner_update ON storage.objects;
CREATE POLICY objects_owner_update ON storage.objects FOR UPDATE TO authenticated
  USING (owner = auth.uid())
  WITH CHECK (owner = auth.uid() AND storage.user_may_store(bucket, key, size));
-- Presigned uploads are promised only into buckets that take user uploads.
DROP POLICY pending_owner ON storage.pending_uploads;
CREATE POLICY pending_owner ON storage.pending_uploads FOR ALL TO authenticated
  USING (owner = auth.uid())
  WITH CHECK (owner = auth.uid() AND EXISTS (
    SELECT 1 FROM storage.buckets b WHERE b.name = bucket AND b.allow_user_uploads));

-- Down Migration

DROP POLICY pending_owner ON storage.pending_uploads;
CREATE POLICY pending_owner ON storage.pending_uploads FOR ALL TO authenticated
  USING (owner = auth.uid()) WITH CHECK (owner = auth.uid());
DROP POLICY objects_owner_update ON storage.objects;
CREATE POLICY objects_owner_update ON storage.objects FOR UPDATE TO authenticated
  USING (owner = auth.uid()) WITH CHECK (owner = auth.uid());
DROP POLICY objects_owner_insert ON storage.objects;
CREATE POLICY objects_owner_insert ON storage.objects FOR INSERT TO authenticated
  WITH CHECK (owner = auth.uid());
DROP FUNCTION storage.user_may_store(text, text, bigint);
DROP TABLE storage.settings;
ALTER TABLE storage.buckets DROP COLUMN allow_user_uploads;
ALTER TABLE ai.config DROP CONSTRAINT config_limits_not_negative;
UPDATE ai.config SET requests_per_minute = nullif(requests_per_minute, 0),
  tokens_per_day = nullif(tokens_per_day, 0), images_per_day = nullif(images_per_day, 0);
ALTER TABLE ai.config DROP COLUMN requests_per_day;
ALTER TABLE ai.config ADD CONSTRAINT config_requests_per_minute_check CHECK (requests_per_minute > 0);
ALTER TABLE ai.config ADD CONSTRAINT config_tokens_per_day_check CHECK (tokens_per_day > 0);
ALTER TABLE ai.config ADD CONSTRAINT config_images_per_day_check CHECK (images_per_day > 0);
