/**
 * The Backups area's reads and writes: GET /api/backups (backups, restorable range, recent jobs),
 * POST /api/backups (a job to poll at /api/backups/jobs/:id), DELETE /api/backups/:id, the tar at
 * /api/backups/:id/download, POST /api/backups/restore, and the backup settings from
 * GET /api/settings (BACKUP_SCHEDULE, BACKUP_RETENTION, BACKUP_VERIFY, DATABASE_URL).
 *
 * Fields other kinds of backup add (a logical backup's `kind`, an off-site copy's `location`)
 * and a restore job's `kind`/`phase`/`target` are optional here, so the page reads the API
 * before and after they exist.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { z } from 'zod';
import type {
  backupJobSchema,
  baseBackupSchema,
  deleteBackupResponseSchema,
  listBackupsResponseSchema,
  settingsResponseSchema,
} from '@kiln/shared-schemas';
import { api, downloadFile, isApiError } from '../../lib/api';
import { useApiMutation } from '../../lib/mutation';
import { queryKeys } from '../../lib/query';

export type Backup = z.infer<typeof baseBackupSchema> & {
  /** 'base' (physical, with LSNs) or 'logical' (external PostgreSQL: no LSN fields). */
  kind?: string;
  /** Where the backup is kept (local disk, an S3 copy), when the API says. */
  location?: unknown;
};
export type BackupJob = Omit<z.infer<typeof backupJobSchema>, 'backup'> & {
  kind?: 'backup' | 'restore';
  /** The current step in words; null once ended. */
  phase?: string | null;
  /** The time a restore goes back to. */
  target?: string | null;
  backup: Backup | null;
};
export type BackupList = Omit<
  z.infer<typeof listBackupsResponseSchema>,
  'backups' | 'jobs' | 'offsite'
> & {
  backups: Backup[];
  jobs: BackupJob[];
  /** The off-site copy (BACKUP_S3_URL), when the server has one. */
  offsite?: {
    target: string;
    pendingWal: number;
    pendingBackups: number;
    lastUploadAt: string | null;
    lastError: string | null;
    lastErrorAt: string | null;
  } | null;
};

const ACTIVE = new Set(['running', 'verifying']);
export const isActive = (job: BackupJob) => ACTIVE.has(job.status);

/** `enabled` false while a restore runs (the API answers 503 RESTORING until it ends). */
export function useBackups(enabled = true) {
  return useQuery({
    queryKey: queryKeys.backups.list(),
    queryFn: ({ signal }) => api.get<BackupList>('/api/backups', undefined, signal),
    enabled,
  });
}

export interface BackupSettings {
  /** The cron expression (UTC), or 'off'. */
  schedule?: string;
  retention?: number;
  verify?: boolean;
  /** DATABASE_URL is set: Kiln uses an external PostgreSQL. */
  externalDatabase: boolean;
}

/** The backup settings, from the same query the Settings page reads. */
export function useBackupSettings(enabled = true) {
  return useQuery({
    enabled,
    queryKey: queryKeys.settings.detail(),
    queryFn: ({ signal }) =>
      api.get<z.infer<typeof settingsResponseSchema>>('/api/settings', undefined, signal),
    select: (s): BackupSettings => {
      const env = new Map(s.environment.map((v) => [v.name, v]));
      const retention = Number(env.get('BACKUP_RETENTION')?.value);
      const verify = env.get('BACKUP_VERIFY')?.value;
      return {
        schedule: env.get('BACKUP_SCHEDULE')?.value ?? undefined,
        retention: Number.isFinite(retention) && retention > 0 ? retention : undefined,
        verify: verify == null ? undefined : verify === 'true',
        externalDatabase: env.get('DATABASE_URL')?.isSet ?? false,
      };
    },
  });
}

/** Jobs whose end has been acted on (the queries it changed read again), once each. */
const settled = new Set<string>();
const JOB_KEY = queryKeys.backups.job('');
const isJobKey = (key: readonly unknown[]) => key[0] === JOB_KEY[0] && key[1] === JOB_KEY[1];

/**
 * A job polled until it ends (every 500 ms); when it does, everything it changed is read again:
 * the backups list after a backup, every query after a restore (the whole database changed).
 */
export function useBackupJob(id: string | undefined) {
  const client = useQueryClient();
  return useQuery({
    queryKey: queryKeys.backups.job(id ?? ''),
    queryFn: async ({ signal }) => {
      const job = await api.get<BackupJob>(`/api/backups/jobs/${id!}`, undefined, signal);
      if (!isActive(job) && !settled.has(job.id)) {
        settled.add(job.id);
        // Not awaited, and never the job queries themselves (this one is still fetching).
        void client.invalidateQueries(
          job.kind === 'restore'
            ? { predicate: (q) => !isJobKey(q.queryKey) }
            : { queryKey: queryKeys.backups.list() },
        );
      }
      return job;
    },
    enabled: !!id,
    refetchInterval: (q) => (q.state.data && !isActive(q.state.data) ? false : 500),
    // A restore answers 503 to other calls for a while; the job's own poll keeps going.
    retry: (n, err) => n < 20 && (!isApiError(err) || err.status === 0 || err.status >= 500),
    retryDelay: 500,
  });
}

export function useStartBackup() {
  return useApiMutation({
    mutationFn: () => api.post<BackupJob>('/api/backups'),
    progress: 'Starting a backup…',
    success: 'Backup started',
    invalidate: [queryKeys.backups.list()],
  });
}

export function useDeleteBackup() {
  return useApiMutation({
    mutationFn: (id: string) =>
      api.delete<z.infer<typeof deleteBackupResponseSchema>>(
        `/api/backups/${encodeURIComponent(id)}`,
      ),
    progress: 'Deleting the backup…',
    success: (d) => `Backup ${d.id} deleted`,
    invalidate: [queryKeys.backups.list()],
  });
}

export function useDownloadBackup() {
  return useApiMutation({
    mutationFn: (id: string) =>
      downloadFile(
        `/api/backups/${encodeURIComponent(id)}/download`,
        undefined,
        `kiln-backup-${id}.tar`,
      ),
    progress: 'Preparing the download…',
    success: (_d, id) => `Backup ${id} downloaded`,
  });
}

/**
 * POST /api/backups/restore: a job (202) to poll, or (a server that restores only with Kiln
 * stopped) an ApiError RESTORE_NEEDS_CLI whose nextActions holds the command; the dialog shows
 * either, so no toast here.
 */
export function restoreTo(to: string): Promise<BackupJob> {
  return api.post<BackupJob>('/api/backups/restore', { to });
}
