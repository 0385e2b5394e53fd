-- Up Migration

-- Scheduled backups run once per tick across every instance sharing the database (issue 24).
-- Each instance runs BACKUP_SCHEDULE; before a tick's backup it claims the tick here (the
-- tick's scheduled time, the same on every instance whatever its clock says), and only the
-- instance whose INSERT wrote the row takes the backup (backups/scheduler.ts). `kind` says which
-- backup the claimant takes: a base backup ('physical', only the instance that started the
-- embedded server can) takes precedence over a logical one.
CREATE TABLE system.backup_ticks (
  tick timestamptz PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('physical', 'logical')),
  instance text NOT NULL,
  claimed_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration

DROP TABLE IF EXISTS system.backup_ticks;
