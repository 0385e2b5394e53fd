/** The jobs API, mounted at /api/jobs: queues, enqueueing, and the admin views of jobs. */
import {
  deletedQueueResponseSchema,
  enqueueJobRequestSchema,
  enqueueJobResponseSchema,
  jobParamsSchema,
  jobSchema,
  listJobsQuerySchema,
  listJobsResponseSchema,
  listQueuesResponseSchema,
  purgeJobsQuerySchema,
  purgeJobsResponseSchema,
  putQueueRequestSchema,
  queueNameSchema,
  queueParamsSchema,
  queueSchema,
  recentFailuresQuerySchema,
  recentFailuresResponseSchema,
} from '@kiln/shared-schemas';
import { AppError } from '../core/errors.js';
import { reply, route, type RouteGroup } from '../core/route.js';
import type { JobsService } from './service.js';

function queueName(name: string): string {
  const parsed = queueNameSchema.safeParse(name);
  if (!parsed.success)
    throw new AppError(400, 'INVALID_INPUT', `Queue name: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

/**
 * Enqueueing, for any signed-in caller: admins and the API key on every queue, users on queues
 * with userEnqueue (the jobs table's policies decide). Mounted before the admin group.
 */
export function jobsEnqueueRoutes(jobs: JobsService): RouteGroup {
  return {
    tag: 'jobs',
    routes: [
      route({
        access: 'user',
        method: 'post',
        path: '/queues/:name/jobs',
        summary:
          'Enqueue a job (admins and the API key; signed-in users on queues with userEnqueue)',
        params: queueParamsSchema,
        body: enqueueJobRequestSchema,
        responses: {
          201: { description: 'Enqueued', schema: enqueueJobResponseSchema },
          200: {
            description: 'An unfinished job with this dedupKey exists',
            schema: enqueueJobResponseSchema,
          },
        },
        errors: {
          403: ['JOBS_FORBIDDEN'],
          404: ['JOBS_QUEUE_NOT_FOUND'],
          409: ['JOBS_DUPLICATE'],
          413: ['JOBS_PAYLOAD_TOO_LARGE'],
        },
        handler: async ({ params, body, principal }) => {
          const result = await jobs.enqueue(principal, params.name, body);
          return result.created ? reply(201, result) : result;
        },
      }),
    ],
  };
}

/** The admin side: queues, job listings, retry / cancel / purge, failures. */
export function jobsRoutes(jobs: JobsService): RouteGroup {
  return {
    tag: 'jobs',
    access: 'admin',
    routes: [
      route({
        method: 'get',
        path: '/queues',
        summary: 'Queues with their settings and per-status job counts',
        responses: { 200: listQueuesResponseSchema },
        handler: async () => ({ queues: await jobs.listQueues() }),
      }),
      route({
        method: 'get',
        path: '/queues/:name',
        summary: 'One queue with its job counts',
        params: queueParamsSchema,
        responses: { 200: queueSchema },
        errors: { 404: ['JOBS_QUEUE_NOT_FOUND'] },
        handler: async ({ params }) => jobs.getQueue(params.name),
      }),
      route({
        method: 'put',
        path: '/queues/:name',
        summary: 'Create or change a queue: its target (function, URL, SQL), retries, limits',
        params: queueParamsSchema,
        body: putQueueRequestSchema,
        responses: {
          200: queueSchema,
          201: { description: 'Created', schema: queueSchema },
        },
        errors: { 400: ['JOBS_UNKNOWN_TARGET'] },
        handler: async ({ params, body }) => {
          const { queue, created } = await jobs.putQueue(queueName(params.name), body);
          return created ? reply(201, queue) : queue;
        },
      }),
      route({
        method: 'delete',
        path: '/queues/:name',
        summary: 'Delete a queue and its jobs',
        params: queueParamsSchema,
        responses: { 200: deletedQueueResponseSchema },
        errors: { 404: ['JOBS_QUEUE_NOT_FOUND'] },
        handler: async ({ params }) => {
          await jobs.deleteQueue(params.name);
          return { message: `Queue ${params.name} deleted` };
        },
      }),
      route({
        method: 'get',
        path: '/jobs',
        summary: 'Jobs, newest first (filter by queue and status)',
        query: listJobsQuerySchema,
        responses: { 200: listJobsResponseSchema },
        handler: async ({ query }) => jobs.list(query),
      }),
      route({
        method: 'delete',
        path: '/jobs',
        summary: 'Purge finished jobs (succeeded, dead, cancelled), by queue, status and age',
        query: purgeJobsQuerySchema,
        responses: { 200: purgeJobsResponseSchema },
        handler: async ({ query }) => ({ deleted: await jobs.purge(query) }),
      }),
      route({
        method: 'get',
        path: '/failures',
        summary: 'Recent failures (waiting for a retry, or dead) with their last error',
        query: recentFailuresQuerySchema,
        responses: { 200: recentFailuresResponseSchema },
        handler: async ({ query }) => ({ failures: await jobs.recentFailures(query) }),
      }),
      route({
        method: 'get',
        path: '/jobs/:id',
        summary: 'One job',
        params: jobParamsSchema,
        responses: { 200: jobSchema },
        errors: { 404: ['JOBS_NOT_FOUND'] },
        handler: async ({ params }) => jobs.get(params.id),
      }),
      route({
        method: 'post',
        path: '/jobs/:id/retry',
        summary: 'Run a failed, dead or cancelled job again now (attempts start over)',
        params: jobParamsSchema,
        responses: { 200: jobSchema },
        errors: { 404: ['JOBS_NOT_FOUND'], 409: ['JOBS_INVALID_STATE'] },
        handler: async ({ params }) => jobs.retry(params.id),
      }),
      route({
        method: 'post',
        path: '/jobs/:id/cancel',
        summary: 'Cancel a job that has not started or waits for a retry',
        params: jobParamsSchema,
        responses: { 200: jobSchema },
        errors: { 404: ['JOBS_NOT_FOUND'], 409: ['JOBS_INVALID_STATE'] },
        handler: async ({ params }) => jobs.cancel(params.id),
      }),
    ],
  };
}
