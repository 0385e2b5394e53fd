/**
 * A backup or restore job as it runs: its status, the step it is on, a progress bar of the bytes
 * copied (measured against an expected size when there is one, else indeterminate) and, once
 * ended, the result or the error.
 */
import { CheckCircle2, Loader2, X, XCircle } from 'lucide-react';
import { cn } from '../../lib/cn';
import { formatBytes } from '../storage/format';
import { Button } from '../../ui/button';
import { Badge, Card, type BadgeTone } from '../../ui/misc';
import { isActive, type BackupJob } from './hooks';
import { formatUtc } from './format';

const tones: Record<BackupJob['status'], BadgeTone> = {
  running: 'info',
  verifying: 'info',
  done: 'success',
  failed: 'danger',
};

function stepText(job: BackupJob): string {
  if (job.phase) return job.phase;
  if (job.status === 'running') {
    return job.kind === 'restore' ? 'Restoring' : 'Copying the database files';
  }
  if (job.status === 'verifying') return 'Verifying: restoring the copy into a throwaway server';
  if (job.status === 'done') {
    return job.kind === 'restore' ? 'The database is back at the chosen time' : 'Backup taken';
  }
  return job.kind === 'restore' ? 'The restore failed' : 'The backup failed';
}

export function JobProgress({
  job,
  expectedBytes,
  onDismiss,
}: {
  job: BackupJob;
  /** About how many bytes the copy will be (the last backup's size), for the bar. */
  expectedBytes?: number;
  onDismiss: () => void;
}) {
  const active = isActive(job);
  const restore = job.kind === 'restore';
  const copied = job.status !== 'running';
  const total = restore ? (job.backup?.sizeBytes ?? expectedBytes) : expectedBytes;
  const fraction =
    job.status === 'done' || (copied && job.status !== 'failed')
      ? 1
      : total
        ? Math.min(job.bytesCopied / total, 0.99)
        : undefined;
  const title = restore
    ? `Restore to ${job.target ? formatUtc(job.target) : 'a point in time'}`
    : 'Backup';
  const Icon = active ? Loader2 : job.status === 'done' ? CheckCircle2 : XCircle;
  return (
    <Card
      aria-label={`${title}: ${job.status}`}
      title={
        <span className="flex items-center gap-2">
          <Icon
            className={cn(
              'size-4',
              active && 'animate-spin text-muted',
              job.status === 'done' && 'text-success',
              job.status === 'failed' && 'text-danger',
            )}
            aria-hidden
          />
          {title}
          <Badge tone={tones[job.status]}>{job.status}</Badge>
        </span>
      }
      description={`Started ${formatUtc(job.startedAt)}${job.finishedAt ? ` · ended ${formatUtc(job.finishedAt)}` : ''}`}
      actions={
        !active && (
          <Button variant="ghost" size="icon-sm" aria-label="Dismiss" onClick={onDismiss}>
            <X aria-hidden />
          </Button>
        )
      }
    >
      <div className="flex flex-col gap-2">
        <div className="flex items-baseline justify-between gap-4 text-sm">
          <p aria-live="polite">{stepText(job)}</p>
          <p className="shrink-0 text-muted tabular-nums">
            {formatBytes(job.bytesCopied)} copied
            {total && job.status === 'running' ? ` of about ${formatBytes(total)}` : ''}
          </p>
        </div>
        <div
          role="progressbar"
          aria-label={`${title} progress`}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={fraction === undefined ? undefined : Math.round(fraction * 100)}
          aria-valuetext={`${job.status}: ${formatBytes(job.bytesCopied)} copied`}
          className="relative h-2 overflow-hidden rounded-full bg-surface-2"
        >
          <div
            className={cn(
              'absolute inset-y-0 left-0 rounded-full transition-[width] duration-300',
              job.status === 'failed'
                ? 'bg-danger'
                : job.status === 'done'
                  ? 'bg-success'
                  : 'bg-primary',
              fraction === undefined && 'w-1/3 animate-pulse',
            )}
            style={fraction === undefined ? undefined : { width: `${fraction * 100}%` }}
          />
        </div>
        {job.status === 'failed' && job.error && (
          <p className="rounded-md bg-danger-soft px-3 py-2 text-sm break-words text-fg">
            {job.error}
          </p>
        )}
        {job.status === 'done' && job.backup && !restore && (
          <p className="text-sm text-muted">
            Backup <span className="font-mono text-fg">{job.backup.id}</span>,{' '}
            {formatBytes(job.backup.sizeBytes)}
            {job.backup.verifiedAt ? ', verified' : ''}.
          </p>
        )}
      </div>
    </Card>
  );
}
