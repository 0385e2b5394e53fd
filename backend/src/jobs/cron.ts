/**
 * When a schedule ticks: a cron expression of 5 fields (minute first) or 6 (seconds first),
 * read in an IANA time zone (croner does the calendar work, DST included), or InsForge's
 * sub-minute form "N seconds" (every N seconds, counted from the epoch, so every instance
 * agrees on the ticks).
 */
import { Cron } from 'croner';
import { AppError } from '../core/errors.js';

const INTERVAL = /^\s*([1-9]|[1-5]\d)\s+seconds?\s*$/i;

export interface Timetable {
  /** The first tick strictly after `after`, or null when there is none. */
  next(after: Date): Date | null;
}

const invalid = (message: string) =>
  new AppError(
    400,
    'SCHEDULE_INVALID_CRON',
    message,
    'Use 5-field cron ("*/5 * * * *"), 6-field with seconds first ("*/10 * * * * *") or "N seconds" (1–59)',
  );

export function timetable(expression: string, timeZone: string): Timetable {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new AppError(400, 'SCHEDULE_INVALID_TIME_ZONE', `Unknown time zone "${timeZone}"`);
  }
  const interval = INTERVAL.exec(expression);
  if (interval) {
    const ms = Number(interval[1]) * 1000;
    return { next: (after) => new Date((Math.floor(after.getTime() / ms) + 1) * ms) };
  }
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6)
    throw invalid(`"${expression}" has ${fields.length} fields; a cron expression has 5 or 6`);
  let cron: Cron;
  try {
    cron = new Cron(expression.trim(), { timezone: timeZone, paused: true });
  } catch (err) {
    throw invalid(`Invalid cron expression "${expression}": ${(err as Error).message}`);
  }
  if (!cron.nextRun(new Date())) throw invalid(`"${expression}" never runs`);
  return { next: (after) => cron.nextRun(after) };
}

/**
 * The latest tick at or before `now`, starting from the due tick `from` (at most `limit` steps:
 * a per-second schedule down for a day is not walked through second by second).
 */
export function latestTick(table: Timetable, from: Date, now: Date, limit = 10_000): Date {
  let latest = from;
  for (let i = 0; i < limit; i++) {
    const next = table.next(latest);
    if (!next || next > now) return latest;
    latest = next;
  }
  return latest;
}
