/**
 * One scheduled backup per tick across every instance sharing the database (migration 0051):
 * each instance runs BACKUP_SCHEDULE, and before a tick's backup claims the tick in
 * `system.backup_ticks`; only the instance whose INSERT wrote the row takes it.
 *
 * A tick is named by its scheduled time ({@link scheduledTick}), not by the moment an instance
 * happened to wake up, so instances whose clocks differ by a little (less than the schedule's
 * period) name the same tick, and a late one finds it claimed.
 *
 * With the embedded PostgreSQL only the instance that started it can take a base backup, and
 * PITR rests on those: its claim ('physical') wins over a logical one for the same tick (an
 * instance that claimed it first may already be dumping; that tick then has both), and an
 * instance that would take a logical backup defers while the latest tick before was taken as a
 * base backup (the database is an embedded server whose owner backs it up).
 */
import { Cron } from 'croner';
import pg from 'pg';
import { SAFE_SEARCH_PATH_OPTIONS } from '../core/search-path.js';

/** Claims kept (older ones are deleted as new ones are written). */
const CLAIMS_KEPT = 100;
/** How far back a firing may be from the time it was scheduled for (a busy event loop). */
const LATE_MS = 60_000;

/**
 * The scheduled time of the tick a firing at `now` belongs to: the latest time of `schedule`
 * (UTC) at or before `now` within the last minute, else `now` itself.
 */
export function scheduledTick(schedule: string, now: Date): Date {
  const cron = new Cron(schedule, { timezone: 'UTC', paused: true });
  let latest: Date | undefined;
  let after = new Date(now.getTime() - LATE_MS);
  for (;;) {
    const next = cron.nextRun(after);
    if (!next || next > now) break;
    latest = next;
    after = next;
  }
  cron.stop();
  return latest ?? now;
}

/**
 * Claims `tick` for a backup of `kind` by `instance`: true when this instance takes it, false
 * when another instance already has (see the file's comment).
 */
export async function claimBackupTick(
  databaseUrl: string,
  tick: Date,
  kind: 'physical' | 'logical',
  instance: string,
): Promise<boolean> {
  const client = new pg.Client({
    connectionString: databaseUrl,
    options: SAFE_SEARCH_PATH_OPTIONS,
  });
  await client.connect();
  try {
    const { rows } = await client.query(
      `WITH prior AS (
         SELECT kind FROM system.backup_ticks WHERE tick < $1 ORDER BY tick DESC LIMIT 1
       )
       INSERT INTO system.backup_ticks (tick, kind, instance)
       SELECT $1, $2, $3
        WHERE $2 = 'physical' OR NOT EXISTS (SELECT 1 FROM prior WHERE kind = 'physical')
       ON CONFLICT (tick) DO UPDATE SET kind = EXCLUDED.kind, instance = EXCLUDED.instance,
                                        claimed_at = now()
        WHERE EXCLUDED.kind = 'physical' AND system.backup_ticks.kind <> 'physical'
       RETURNING tick`,
      [tick, kind, instance],
    );
    await client.query(
      `DELETE FROM system.backup_ticks
        WHERE tick <= (SELECT tick FROM system.backup_ticks ORDER BY tick DESC OFFSET $1 LIMIT 1)`,
      [CLAIMS_KEPT],
    );
    return rows.length === 1;
  } finally {
    await client.end();
  }
}
