/** Times and places of backups, as the Backups page shows them. */

/** "2026-12-01 10:15:00 UTC". */
export function formatUtc(iso: string): string {
  return `${new Date(iso).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

const local = new Intl.DateTimeFormat(undefined, {
  dateStyle: 'medium',
  timeStyle: 'medium',
});

/** The same instant in the browser's time zone, named: "1 Dec 2026, 11:15:00 (Europe/Paris)". */
export function formatLocal(iso: string | Date): string {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return `${local.format(new Date(iso))} (${zone})`;
}

/** A `datetime-local` value ("2026-12-01T10:15:00") for an instant, read as UTC. */
export function toUtcInput(d: Date): string {
  return d.toISOString().slice(0, 19);
}

/** A `datetime-local` value read as UTC; undefined when it is not a time. */
export function fromUtcInput(value: string): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value)) return undefined;
  const d = new Date(`${value}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

const PLACES: Record<string, string> = {
  local: 'Local',
  s3: 'S3 (off-site)',
  both: 'Local + S3',
};

/**
 * Where a backup is kept, in words, from whatever the API gives (a path or URL, or an object of
 * them); undefined when it says nothing.
 */
export function locationText(location: unknown): string | undefined {
  if (location == null || location === '') return undefined;
  if (typeof location === 'string') return PLACES[location] ?? location;
  if (Array.isArray(location)) {
    const parts = location.map(locationText).filter(Boolean);
    return parts.length ? parts.join(', ') : undefined;
  }
  if (typeof location === 'object') {
    const parts = Object.entries(location as Record<string, unknown>)
      .filter(([, v]) => v != null && v !== false && v !== '')
      .map(([k, v]) => (v === true ? k : `${k}: ${locationText(v) ?? ''}`));
    return parts.length ? parts.join(', ') : undefined;
  }
  return String(location);
}
