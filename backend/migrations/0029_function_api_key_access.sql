-- Up Migration

-- The project's API key (admin over everything) reaches a function only when the function asks
-- for it; every function still gets the project URL and the anon key, and acts as its caller
-- with the caller's own Authorization header. Changing the setting is a new version (the local
-- process restarts, Subhosting redeploys with the new environment).
ALTER TABLE system.functions ADD COLUMN api_key_access boolean NOT NULL DEFAULT false;

-- Functions written before this setting existed and that name API_KEY keep working: they are
-- the ones that were using it. Every other function loses a key it never read.
UPDATE system.functions SET api_key_access = true
 WHERE code ~ '(^|[^A-Za-z0-9_])API_KEY([^A-Za-z0-9_]|$)';

-- Down Migration

ALTER TABLE system.functions DROP COLUMN api_key_access;
