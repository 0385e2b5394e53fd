-- Up Migration

-- AI gateway: one row of configuration, and one usage record per relayed call.
CREATE SCHEMA IF NOT EXISTS ai;

CREATE TABLE ai.config (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  -- Models callers may use, per modality; an empty list allows every model the upstream offers.
  enabled_models jsonb NOT NULL DEFAULT '{"chat": [], "embedding": [], "image": []}'::jsonb,
  -- Used when a request names no model.
  default_models jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- Prepended to every chat as a system message when set.
  system_prompt text,
  -- Per user; NULL = unlimited.
  requests_per_minute integer CHECK (requests_per_minute > 0),
  tokens_per_day integer CHECK (tokens_per_day > 0),
  images_per_day integer CHECK (images_per_day > 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO ai.config DEFAULT VALUES;
CREATE TRIGGER config_touch_updated_at BEFORE UPDATE ON ai.config
  FOR EACH ROW EXECUTE FUNCTION system.touch_updated_at();

CREATE TABLE ai.usage (
  id bigserial PRIMARY KEY,
  user_id uuid,
  model text NOT NULL,
  modality text NOT NULL CHECK (modality IN ('chat', 'embedding', 'image')),
  prompt_tokens integer NOT NULL DEFAULT 0,
  completion_tokens integer NOT NULL DEFAULT 0,
  total_tokens integer NOT NULL DEFAULT 0,
  images integer NOT NULL DEFAULT 0,
  status text NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'error', 'aborted')),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_user_time_idx ON ai.usage (user_id, created_at);
CREATE INDEX usage_time_idx ON ai.usage (created_at);

-- Down Migration

DROP SCHEMA IF EXISTS ai CASCADE;
