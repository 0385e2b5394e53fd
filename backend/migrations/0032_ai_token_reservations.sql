-- Up Migration

-- A call in flight holds the tokens it may use (its answer's max_tokens and its prompt) in its
-- 'pending' row until it ends and its real usage replaces them: parallel calls of one user count
-- each other's tokens, as they already counted each other's requests and images.
ALTER TABLE ai.usage ADD COLUMN reserved_tokens integer NOT NULL DEFAULT 0
  CHECK (reserved_tokens >= 0);

-- Down Migration

ALTER TABLE ai.usage DROP COLUMN IF EXISTS reserved_tokens;
