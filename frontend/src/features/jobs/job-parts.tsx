/** Pieces shared by the queues and jobs tabs: a job's status badge, its target, its actions. */
import { Ban, RotateCw } from 'lucide-react';
import { Button } from '../../ui/button';
import { Badge, type BadgeTone } from '../../ui/misc';
import { useCancelJob, useRetryJob, type Job, type Queue } from './hooks';
import type { JobStatusFilter } from './search';

export const statusTones: Record<JobStatusFilter, BadgeTone> = {
  queued: 'info',
  running: 'primary',
  failed: 'warning',
  succeeded: 'success',
  dead: 'danger',
  cancelled: 'neutral',
};

export function JobStatusBadge({ status }: { status: JobStatusFilter }) {
  return <Badge tone={statusTones[status]}>{status}</Badge>;
}

export function describeTarget(t: Queue['target']): string {
  if (t.type === 'function') return `function ${t.slug}`;
  if (t.type === 'http') return t.url;
  return `SQL ${t.function}() as ${t.role}`;
}

/** Retry (failed, dead, cancelled) and Cancel (queued, or waiting for a retry). */
export function JobActions({ job }: { job: Job }) {
  const retry = useRetryJob();
  const cancel = useCancelJob();
  const canRetry = job.status === 'failed' || job.status === 'dead' || job.status === 'cancelled';
  const canCancel = job.status === 'queued' || job.status === 'failed';
  return (
    <div className="flex justify-end gap-1.5">
      {canRetry && (
        <Button
          size="sm"
          variant="outline"
          aria-label={`Retry job ${job.id}`}
          loading={retry.isPending}
          onClick={() => void retry.mutateAsync(job.id).catch(() => undefined)}
        >
          <RotateCw aria-hidden /> Retry
        </Button>
      )}
      {canCancel && (
        <Button
          size="sm"
          variant="ghost"
          aria-label={`Cancel job ${job.id}`}
          loading={cancel.isPending}
          onClick={() => void cancel.mutateAsync(job.id).catch(() => undefined)}
        >
          <Ban aria-hidden /> Cancel
        </Button>
      )}
    </div>
  );
}
