/**
 * The Backups area's URL state: whether the point-in-time restore dialog is open. Loaded with the
 * route tree: no runtime imports of shared-schemas.
 */
export interface BackupsSearch {
  /** The "Restore to a point in time" dialog is open. */
  restore?: true;
}

export function backupsSearch(s: Record<string, unknown>): BackupsSearch {
  return { restore: s.restore === true || s.restore === 'true' ? true : undefined };
}
