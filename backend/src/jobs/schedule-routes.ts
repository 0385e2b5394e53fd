/** Schedules at /api/schedules: InsForge's API, plus run now and a preview of next runs. */
import {
  createScheduleRequestSchema,
  listScheduleLogsResponseSchema,
  listSchedulesResponseSchema,
  scheduleChangedResponseSchema,
  scheduleDeletedResponseSchema,
  scheduleLogSchema,
  scheduleLogsQuerySchema,
  scheduleParamsSchema,
  schedulePreviewQuerySchema,
  schedulePreviewResponseSchema,
  scheduleSchema,
  schedulesConfigSchema,
  schedulesConfigUpdatedResponseSchema,
  updateScheduleRequestSchema,
  updateSchedulesConfigRequestSchema,
} from '@kiln/shared-schemas';
import { route, type RouteGroup } from '../core/route.js';
import type { Scheduler, SchedulesService } from './schedules.js';

export function schedulesRoutes(schedules: SchedulesService, scheduler: Scheduler): RouteGroup {
  const inputErrors = {
    400: ['SCHEDULE_INVALID_CRON', 'SCHEDULE_INVALID_TIME_ZONE', 'SCHEDULE_UNKNOWN_TARGET'],
    404: ['SECRET_NOT_FOUND'],
    413: ['SCHEDULE_BODY_TOO_LARGE'],
  } as const;
  return {
    tag: 'schedules',
    access: 'admin',
    routes: [
      route({
        method: 'get',
        path: '/',
        summary: 'Every schedule, with its next run',
        responses: { 200: listSchedulesResponseSchema },
        handler: async () => schedules.list(),
      }),
      route({
        method: 'post',
        path: '/',
        summary: 'Create a schedule (a URL, function, SQL function or queue, on a cron timetable)',
        body: createScheduleRequestSchema,
        responses: { 201: { description: 'Created', schema: scheduleChangedResponseSchema } },
        errors: inputErrors,
        handler: async ({ body }) => {
          const id = await schedules.create(body);
          scheduler.kick();
          return { id, cronJobId: id, message: 'Schedule created' };
        },
      }),
      route({
        method: 'get',
        path: '/config',
        summary: 'How long run logs are kept',
        responses: { 200: schedulesConfigSchema },
        handler: async () => schedules.getConfig(),
      }),
      route({
        method: 'patch',
        path: '/config',
        summary: 'Change how long run logs are kept (null: forever)',
        body: updateSchedulesConfigRequestSchema,
        responses: { 200: schedulesConfigUpdatedResponseSchema },
        handler: async ({ body }) => {
          await schedules.setConfig(body.retentionDays);
          return { message: 'Schedules configuration updated' };
        },
      }),
      route({
        method: 'get',
        path: '/preview',
        summary: 'The next runs of a cron expression in a time zone (400 when it is invalid)',
        query: schedulePreviewQuerySchema,
        responses: { 200: schedulePreviewResponseSchema },
        errors: { 400: ['SCHEDULE_INVALID_CRON', 'SCHEDULE_INVALID_TIME_ZONE'] },
        handler: async ({ query }) => ({
          nextRuns: schedules.preview(query.cronSchedule, query.timeZone, query.count),
        }),
      }),
      route({
        method: 'get',
        path: '/:id',
        summary: 'One schedule',
        params: scheduleParamsSchema,
        responses: { 200: scheduleSchema },
        errors: { 404: ['SCHEDULE_NOT_FOUND'] },
        handler: async ({ params }) => schedules.get(params.id),
      }),
      route({
        method: 'patch',
        path: '/:id',
        summary: 'Change a schedule; isActive false pauses it, true resumes it from now',
        params: scheduleParamsSchema,
        body: updateScheduleRequestSchema,
        responses: { 200: scheduleChangedResponseSchema },
        errors: { ...inputErrors, 404: ['SCHEDULE_NOT_FOUND', 'SECRET_NOT_FOUND'] },
        handler: async ({ params, body }) => {
          await schedules.update(params.id, body);
          scheduler.kick();
          return { id: params.id, cronJobId: params.id, message: 'Schedule updated' };
        },
      }),
      route({
        method: 'delete',
        path: '/:id',
        summary: 'Delete a schedule and its logs',
        params: scheduleParamsSchema,
        responses: { 200: scheduleDeletedResponseSchema },
        errors: { 404: ['SCHEDULE_NOT_FOUND'] },
        handler: async ({ params }) => {
          await schedules.delete(params.id);
          return { message: 'Schedule deleted' };
        },
      }),
      route({
        method: 'get',
        path: '/:id/logs',
        summary: 'A schedule’s runs, newest first',
        params: scheduleParamsSchema,
        query: scheduleLogsQuerySchema,
        responses: { 200: listScheduleLogsResponseSchema },
        errors: { 404: ['SCHEDULE_NOT_FOUND'] },
        handler: async ({ params, query }) => schedules.logs(params.id, query.limit, query.offset),
      }),
      route({
        method: 'post',
        path: '/:id/run',
        summary: 'Run the schedule now (answers when the run ends; queued behind a running one)',
        params: scheduleParamsSchema,
        responses: { 200: scheduleLogSchema },
        errors: { 404: ['SCHEDULE_NOT_FOUND'] },
        handler: async ({ params }) => scheduler.runNow(params.id),
      }),
    ],
  };
}
