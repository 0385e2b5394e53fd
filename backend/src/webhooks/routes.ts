/**
 * Incoming webhooks over HTTP:
 * - `/api/webhooks/in/:name` receives deliveries (anyone may call; the signature decides). It
 *   is mounted before the JSON body parser, so the signature is checked over the exact bytes;
 *   it reads at most WEBHOOKS_IN_MAX_BODY_BYTES of them (413 beyond);
 * - `/api/webhooks/incoming` is the admin API over endpoints and their deliveries.
 */
import type { Request } from 'express';
import {
  createIncomingWebhookRequestSchema,
  deleteIncomingWebhookResponseSchema,
  incomingDeliveryAcceptedSchema,
  incomingDeliveryParamsSchema,
  incomingDeliverySchema,
  incomingReceiveParamsSchema,
  incomingWebhookParamsSchema,
  incomingWebhookSchema,
  listIncomingDeliveriesQuerySchema,
  listIncomingDeliveriesResponseSchema,
  listIncomingWebhooksResponseSchema,
  updateIncomingWebhookRequestSchema,
} from '@kiln/shared-schemas';
import { AppError } from '../core/errors.js';
import { route, routeWith, type RouteGroup } from '../core/route.js';
import type { IncomingWebhooks } from './service.js';
import { REFUSAL_MESSAGES } from './verify.js';

const REFUSALS = [
  'WEBHOOK_SIGNATURE_MISSING',
  'WEBHOOK_SIGNATURE_INVALID',
  'WEBHOOK_TIMESTAMP_STALE',
  'WEBHOOK_SECRET_PATH_INVALID',
];

/** The body's bytes, or `undefined` once more than `limit` arrive (the rest is discarded). */
async function readBody(req: Request, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function incomingWebhookReceiveRoutes(webhooks: IncomingWebhooks): RouteGroup {
  return {
    tag: 'webhooks',
    access: 'anyone',
    routes: [
      route({
        method: 'post',
        path: '/:name{/:token}',
        summary: 'Receive a delivery for an incoming webhook endpoint',
        description:
          'The signature (per the endpoint’s scheme) is checked over the exact bytes received; a ' +
          'verified delivery is stored, deduplicated by its idempotency key and handed to the ' +
          'endpoint’s target. For scheme `none`, the URL ends with the endpoint’s secret.',
        params: incomingReceiveParamsSchema,
        bodyType: 'any',
        responses: {
          200: {
            description: 'Stored (or a repeat of a stored delivery)',
            schema: incomingDeliveryAcceptedSchema,
          },
        },
        errors: {
          401: REFUSALS,
          404: ['WEBHOOK_ENDPOINT_NOT_FOUND'],
          503: ['WEBHOOK_ENDPOINT_DISABLED', 'WEBHOOK_SECRET_UNREADABLE'],
        },
        handler: async ({ params, req, res }) => {
          // The secret of a secret URL stays out of the access log.
          if (params.token !== undefined)
            res.locals.logPath = `${req.baseUrl}/${encodeURIComponent(params.name)}/[secret]`;
          const endpoint = await webhooks.endpointFor(params.name);
          const body = await readBody(req, webhooks.maxBodyBytes);
          if (!body) {
            const declared = Number(req.headers['content-length']);
            await webhooks.refuse(
              endpoint.name,
              'PAYLOAD_TOO_LARGE',
              Number.isFinite(declared) ? declared : webhooks.maxBodyBytes + 1,
              req.headers['content-type'],
            );
            res.setHeader('connection', 'close');
            throw new AppError(
              413,
              'PAYLOAD_TOO_LARGE',
              `The delivery is larger than ${webhooks.maxBodyBytes} bytes (WEBHOOKS_IN_MAX_BODY_BYTES)`,
            );
          }
          const result = await webhooks.receive(endpoint, {
            name: params.name,
            token: params.token,
            headers: req.headers,
            body,
          });
          if (!result.ok) throw new AppError(401, result.reason, REFUSAL_MESSAGES[result.reason]);
          return { received: true as const, id: result.id, duplicate: result.duplicate };
        },
      }),
    ],
  };
}

const adminRoute = routeWith('admin');

export function incomingWebhookAdminRoutes(webhooks: IncomingWebhooks): RouteGroup {
  const notFound = { 404: ['WEBHOOK_ENDPOINT_NOT_FOUND'] };
  return {
    tag: 'webhooks',
    access: 'admin',
    routes: [
      adminRoute({
        method: 'get',
        path: '/',
        summary: 'List incoming webhook endpoints (secrets masked), with their counts',
        responses: { 200: listIncomingWebhooksResponseSchema },
        handler: async () => ({ endpoints: await webhooks.list() }),
      }),
      adminRoute({
        method: 'post',
        path: '/',
        summary: 'Create an incoming webhook endpoint',
        body: createIncomingWebhookRequestSchema,
        responses: { 201: { description: 'Created', schema: incomingWebhookSchema } },
        errors: { 400: ['WEBHOOK_UNKNOWN_TARGET'], 409: ['WEBHOOK_ENDPOINT_EXISTS'] },
        handler: ({ body }) => webhooks.create(body),
      }),
      adminRoute({
        method: 'get',
        path: '/:name',
        summary: 'An incoming webhook endpoint, with its secret',
        params: incomingWebhookParamsSchema,
        responses: { 200: incomingWebhookSchema },
        errors: notFound,
        handler: ({ params }) => webhooks.get(params.name),
      }),
      adminRoute({
        method: 'patch',
        path: '/:name',
        summary: 'Change an incoming webhook endpoint',
        params: incomingWebhookParamsSchema,
        body: updateIncomingWebhookRequestSchema,
        responses: { 200: incomingWebhookSchema },
        errors: {
          ...notFound,
          400: ['WEBHOOK_UNKNOWN_TARGET'],
          409: ['WEBHOOK_SECRET_UNREADABLE'],
        },
        handler: ({ params, body }) => webhooks.update(params.name, body),
      }),
      adminRoute({
        method: 'delete',
        path: '/:name',
        summary: 'Delete an incoming webhook endpoint and its deliveries',
        params: incomingWebhookParamsSchema,
        responses: { 200: deleteIncomingWebhookResponseSchema },
        errors: notFound,
        handler: async ({ params }) => {
          await webhooks.delete(params.name);
          return { success: true as const, message: `Endpoint ${params.name} deleted` };
        },
      }),
      adminRoute({
        method: 'get',
        path: '/:name/deliveries',
        summary: 'Recent deliveries of an endpoint (newest first), refused ones included',
        params: incomingWebhookParamsSchema,
        query: listIncomingDeliveriesQuerySchema,
        responses: { 200: listIncomingDeliveriesResponseSchema },
        errors: notFound,
        handler: ({ params, query }) => webhooks.deliveries(params.name, query),
      }),
      adminRoute({
        method: 'post',
        path: '/:name/deliveries/:id/redeliver',
        summary: 'Hand a stored delivery to the endpoint’s target again (a new job)',
        params: incomingDeliveryParamsSchema,
        responses: { 200: incomingDeliverySchema },
        errors: {
          404: ['WEBHOOK_ENDPOINT_NOT_FOUND', 'WEBHOOK_DELIVERY_NOT_FOUND'],
          409: ['WEBHOOK_NO_TARGET', 'WEBHOOK_DELIVERY_REFUSED'],
        },
        handler: ({ params }) => webhooks.redeliver(params.name, params.id),
      }),
      adminRoute({
        method: 'get',
        path: '/:name/deliveries/:id',
        summary: 'One delivery with its headers and payload',
        params: incomingDeliveryParamsSchema,
        responses: { 200: incomingDeliverySchema },
        errors: { 404: ['WEBHOOK_DELIVERY_NOT_FOUND'] },
        handler: ({ params }) => webhooks.delivery(params.name, params.id),
      }),
    ],
  };
}
