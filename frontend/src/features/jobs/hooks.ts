/**
 * The Jobs area's reads and writes: queues with their per-status counts
 * (GET /api/jobs/queues), created, changed (PUT) and deleted; jobs one server page at a time, recent failures, retry and cancel;
 * schedules (GET/POST/PATCH /api/schedules), the next runs of a cron expression
 * (GET /api/schedules/preview), run now and a schedule's run logs.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { z } from 'zod';
import type {
  CreateScheduleRequest,
  Job,
  listJobsResponseSchema,
  listQueuesResponseSchema,
  listScheduleLogsResponseSchema,
  PutQueueRequest,
  Queue,
  recentFailuresResponseSchema,
  Schedule,
  scheduleChangedResponseSchema,
  ScheduleLog,
  schedulePreviewResponseSchema,
  UpdateScheduleRequest,
} from '@kiln/shared-schemas';
import { api } from '../../lib/api';
import { useApiMutation } from '../../lib/mutation';
import { queryKeys } from '../../lib/query';
import type { JobStatusFilter } from './search';

export type { Job, Queue, Schedule, ScheduleLog };
type JobsPage = z.infer<typeof listJobsResponseSchema>;
type LogsPage = z.infer<typeof listScheduleLogsResponseSchema>;
type Changed = z.infer<typeof scheduleChangedResponseSchema>;

export const JOBS_PAGE = 50;
export const LOGS_PAGE = 20;

/** Lists re-read every few seconds while something on them is still moving. */
const LIVE_MS = 3000;

export function useQueues() {
  return useQuery({
    queryKey: queryKeys.jobs.queues(),
    queryFn: ({ signal }) =>
      api.get<z.infer<typeof listQueuesResponseSchema>>('/api/jobs/queues', undefined, signal),
    refetchInterval: (q) =>
      q.state.data?.queues.some((x) => x.counts.queued + x.counts.running > 0) ? LIVE_MS : false,
  });
}

export function useJobs(filters: { queue?: string; status?: JobStatusFilter; offset: number }) {
  return useQuery({
    queryKey: queryKeys.jobs.list(filters),
    queryFn: ({ signal }) =>
      api.get<JobsPage>('/api/jobs/jobs', { ...filters, limit: JOBS_PAGE }, signal),
    placeholderData: keepPreviousData,
    refetchInterval: (q) =>
      q.state.data?.data.some((j) => j.status === 'queued' || j.status === 'running')
        ? LIVE_MS
        : false,
  });
}

export function usePutQueue() {
  return useApiMutation({
    mutationFn: ({ name, body }: { name: string; body: PutQueueRequest }) =>
      api.put<Queue>(`/api/jobs/queues/${encodeURIComponent(name)}`, body),
    progress: 'Saving the queue…',
    success: (q) => `Queue ${q.name} saved`,
    invalidate: [queryKeys.jobs.queues()],
  });
}

export function useDeleteQueue() {
  return useApiMutation({
    mutationFn: (name: string) =>
      api.delete<{ message: string }>(`/api/jobs/queues/${encodeURIComponent(name)}`),
    progress: 'Deleting the queue…',
    success: (_, name) => `Queue ${name} deleted`,
    invalidate: [queryKeys.jobs.all],
  });
}

export function useFailures() {
  return useQuery({
    queryKey: queryKeys.jobs.failures(),
    queryFn: ({ signal }) =>
      api.get<z.infer<typeof recentFailuresResponseSchema>>(
        '/api/jobs/failures',
        { limit: 20 },
        signal,
      ),
    refetchInterval: LIVE_MS * 2,
  });
}

export function useRetryJob() {
  return useApiMutation({
    mutationFn: (id: string) => api.post<Job>(`/api/jobs/jobs/${encodeURIComponent(id)}/retry`),
    progress: 'Retrying the job…',
    success: (j) => `Job queued again on ${j.queue}`,
    invalidate: [queryKeys.jobs.all],
  });
}

export function useCancelJob() {
  return useApiMutation({
    mutationFn: (id: string) => api.post<Job>(`/api/jobs/jobs/${encodeURIComponent(id)}/cancel`),
    progress: 'Cancelling the job…',
    success: (j) => `Job on ${j.queue} cancelled`,
    invalidate: [queryKeys.jobs.all],
  });
}

export function useSchedules() {
  return useQuery({
    queryKey: queryKeys.jobs.schedules(),
    queryFn: ({ signal }) => api.get<Schedule[]>('/api/schedules', undefined, signal),
  });
}

export function useSchedulePreview(cronSchedule: string, timeZone: string) {
  return useQuery({
    queryKey: queryKeys.jobs.preview(cronSchedule, timeZone),
    queryFn: ({ signal }) =>
      api.get<z.infer<typeof schedulePreviewResponseSchema>>(
        '/api/schedules/preview',
        { cronSchedule, timeZone, count: 5 },
        signal,
      ),
    enabled: cronSchedule.trim() !== '' && timeZone.trim() !== '',
    retry: false,
    placeholderData: keepPreviousData,
  });
}

export function useCreateSchedule() {
  return useApiMutation({
    mutationFn: (body: CreateScheduleRequest) => api.post<Changed>('/api/schedules', body),
    progress: 'Creating the schedule…',
    invalidate: [queryKeys.jobs.schedules()],
  });
}

export function useUpdateSchedule() {
  return useApiMutation({
    mutationFn: ({ id, body }: { id: string; body: UpdateScheduleRequest }) =>
      api.patch<Changed>(`/api/schedules/${encodeURIComponent(id)}`, body),
    progress: 'Saving the schedule…',
    invalidate: [queryKeys.jobs.schedules()],
  });
}

export function useRunSchedule() {
  return useApiMutation({
    mutationFn: (id: string) =>
      api.post<ScheduleLog>(`/api/schedules/${encodeURIComponent(id)}/run`),
    progress: 'Running the schedule…',
    success: (log) =>
      log.status === 'succeeded' ? `Run succeeded (${log.durationMs} ms)` : `Run ${log.status}`,
    invalidate: [queryKeys.jobs.schedules(), queryKeys.jobs.logsAll()],
  });
}

export function useScheduleLogs(id: string | undefined, offset: number) {
  return useQuery({
    queryKey: queryKeys.jobs.logs(id ?? '', offset),
    queryFn: ({ signal }) =>
      api.get<LogsPage>(
        `/api/schedules/${encodeURIComponent(id ?? '')}/logs`,
        { limit: LOGS_PAGE, offset },
        signal,
      ),
    enabled: id !== undefined,
    placeholderData: keepPreviousData,
  });
}

export function useDeleteSchedule() {
  return useApiMutation({
    mutationFn: (id: string) =>
      api.delete<{ message: string }>(`/api/schedules/${encodeURIComponent(id)}`),
    progress: 'Deleting the schedule…',
    invalidate: [queryKeys.jobs.schedules()],
  });
}
