-- Up Migration

-- Per-user AI limits reserve a row before the upstream call ('pending'), filled in when the
-- call ends: parallel requests see each other, so a limit of 1 per minute means one.
ALTER TABLE ai.usage DROP CONSTRAINT IF EXISTS usage_status_check;
ALTER TABLE ai.usage ADD CONSTRAINT usage_status_check
  CHECK (status IN ('ok', 'error', 'aborted', 'pending'));

-- Down Migration

UPDATE ai.usage SET status = 'aborted' WHERE status = 'pending';
ALTER TABLE ai.usage DROP CONSTRAINT IF EXISTS usage_status_check;
ALTER TABLE ai.usage ADD CONSTRAINT usage_status_check CHECK (status IN ('ok', 'error', 'aborted'));
