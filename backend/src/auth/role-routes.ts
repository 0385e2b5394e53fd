/** Application roles (admin): define, list and delete them; PATCH /users/:id assigns them. */
import {
  appRoleParamsSchema,
  appRoleSchema,
  createAppRoleRequestSchema,
  listAppRolesResponseSchema,
  successMessageSchema,
} from '@kiln/shared-schemas';
import { reply, route, type DeclaredRoute, type ErrorMap } from '../core/route.js';
import type { AuthHttp } from './http.js';

/**
 * What a route that issues or refreshes a user's token may answer besides its own errors: a
 * banned user (403), and the custom-claims hook refusing (403) or failing (500).
 */
export const TOKEN_ISSUE_ERRORS: ErrorMap = {
  403: ['AUTH_USER_BANNED', 'AUTH_CLAIMS_HOOK_REFUSED'],
  500: ['AUTH_CLAIMS_HOOK_FAILED'],
};

export function appRoleRoutes(http: AuthHttp): DeclaredRoute[] {
  const { auth } = http;
  return [
    route({
      method: 'get',
      path: '/roles',
      access: 'admin',
      summary: 'The application roles, with how many users hold each',
      responses: { 200: listAppRolesResponseSchema },
      handler: async () => ({ roles: await auth.listRoles() }),
    }),
    route({
      method: 'post',
      path: '/roles',
      access: 'admin',
      summary: 'Define an application role',
      description:
        'Roles travel in user tokens as `app_roles`; policies test them with `auth.has_role(name)`. ' +
        'Assign them with PATCH /api/auth/users/:id {appRoles}.',
      body: createAppRoleRequestSchema,
      responses: { 201: { description: 'Created', schema: appRoleSchema } },
      errors: { 409: ['AUTH_ROLE_EXISTS'] },
      handler: async ({ body }) => reply(201, await auth.createRole(body.name, body.description)),
    }),
    route({
      method: 'delete',
      path: '/roles/:name',
      access: 'admin',
      summary: 'Delete an application role (its users lose it in their next token)',
      params: appRoleParamsSchema,
      responses: { 200: successMessageSchema },
      errors: { 404: ['AUTH_ROLE_NOT_FOUND'] },
      handler: async ({ params }) => {
        await auth.deleteRole(params.name);
        return { success: true as const, message: `Role "${params.name}" deleted` };
      },
    }),
  ];
}
