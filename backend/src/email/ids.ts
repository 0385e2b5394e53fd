/**
 * Stable identifiers for rows Kiln names otherwise (the one SMTP settings row, a template by its
 * type): InsForge's clients read a uuid `id`, so one is derived from the name (the layout of a
 * name-based, version 5 uuid), the same on every read and every Kiln.
 */
import crypto from 'node:crypto';

export function nameUuid(name: string): string {
  const b = crypto.createHash('sha1').update(`kiln:${name}`).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** When the project was set up (its first migration): the creation time of built-in rows. */
export const SET_UP_AT_SQL = '(SELECT min(run_on) FROM system.migrations)';
