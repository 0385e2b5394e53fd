/** Admin API for edge-function secrets, mounted at /api/secrets. */
import type { RequestHandler } from 'express';
import {
  createSecretRequestSchema,
  listSecretsResponseSchema,
  secretChangedResponseSchema,
  secretKeyParamsSchema,
  secretResponseSchema,
  updateSecretRequestSchema,
} from '@kiln/shared-schemas';
import { route, type RouteGroup } from '../core/route.js';
import type { SecretsService } from './service.js';

/** The answer to a change of the secret `key` (InsForge's shape: the key is also its id). */
function changed(key: string, what: 'created' | 'updated' | 'deleted') {
  return { success: true as const, message: `Secret ${key} ${what}`, id: key, key };
}

/** Calls `onChange` after every successful write (functions are redeployed with new values). */
function afterWrites(onChange: () => void): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'GET') res.on('finish', () => res.statusCode < 300 && onChange());
    next();
  };
}

export function secretsRoutes(
  secrets: SecretsService,
  onChange: () => void = () => {},
): RouteGroup {
  return {
    tag: 'secrets',
    access: 'admin',
    use: [afterWrites(onChange)],
    routes: [
      route({
        method: 'get',
        path: '/',
        summary: 'List secrets (values masked; the reserved ones Kiln provides first)',
        responses: { 200: listSecretsResponseSchema },
        handler: async () => ({ secrets: await secrets.list() }),
      }),
      route({
        method: 'get',
        path: '/:key',
        summary: 'A secret with its value',
        params: secretKeyParamsSchema,
        responses: { 200: secretResponseSchema },
        errors: { 404: ['SECRET_NOT_FOUND'], 409: ['SECRET_UNREADABLE'] },
        handler: ({ params }) => secrets.get(params.key),
      }),
      route({
        method: 'post',
        path: '/',
        summary: 'Create a secret',
        body: createSecretRequestSchema,
        responses: { 201: { description: 'Created', schema: secretChangedResponseSchema } },
        errors: { 403: ['SECRET_RESERVED'], 409: ['SECRET_EXISTS'] },
        handler: async ({ body }) => {
          await secrets.create(body);
          return changed(body.key, 'created');
        },
      }),
      route({
        method: 'put',
        path: '/:key',
        summary: 'Change a secret’s value, activity or expiry',
        params: secretKeyParamsSchema,
        body: updateSecretRequestSchema,
        responses: { 200: secretChangedResponseSchema },
        errors: { 403: ['SECRET_RESERVED'], 404: ['SECRET_NOT_FOUND'] },
        handler: async ({ params, body }) => {
          await secrets.update(params.key, body);
          return changed(params.key, 'updated');
        },
      }),
      route({
        method: 'delete',
        path: '/:key',
        summary: 'Delete a secret',
        params: secretKeyParamsSchema,
        responses: { 200: secretChangedResponseSchema },
        errors: { 403: ['SECRET_RESERVED'], 404: ['SECRET_NOT_FOUND'] },
        handler: async ({ params }) => {
          await secrets.delete(params.key);
          return changed(params.key, 'deleted');
        },
      }),
    ],
  };
}
