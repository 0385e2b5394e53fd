/**
 * The signed-in user's own data (/api/auth/users/me/*): the export of everything Kiln holds
 * about them, and the deletion of their account when the project allows it. What both cover is
 * user-data.ts; admin deletion (DELETE /api/auth/users) erases the same way.
 */
import { successMessageSchema, userDataExportSchema } from '@kiln/shared-schemas';
import { AppError } from '../core/errors.js';
import { route, type DeclaredRoute } from '../core/route.js';
import { requireUserSession, userIdOf, type AuthHttp } from './http.js';
import { ERASURE_ERRORS } from './user-data.js';

export function userDataRoutes(http: AuthHttp): DeclaredRoute[] {
  const { userData } = http.options;
  if (!userData) return [];
  const { auth } = http;
  return [
    route({
      method: 'get',
      path: '/users/me/export',
      access: 'user',
      summary: 'Everything Kiln holds about the signed-in user, as one JSON document',
      description:
        'Profile and metadata, identities, sessions, MFA factors (without secrets), owned storage ' +
        'objects (metadata and a download URL valid for an hour each, not the bytes), realtime ' +
        'messages sent, audit entries about the user, and the rows of every exposed table whose ' +
        'column defaulting to auth.uid() is the user (read under RLS as the user).',
      responses: { 200: userDataExportSchema },
      authorize: requireUserSession,
      handler: async ({ principal, res }) => {
        userIdOf(principal);
        res.setHeader('content-disposition', 'attachment; filename="kiln-user-export.json"');
        return userData.export(principal);
      },
    }),
    route({
      method: 'delete',
      path: '/users/me',
      access: 'user',
      summary: 'Delete the signed-in user’s account and data (when the project allows it)',
      description:
        'Off unless an admin sets PUT /api/auth/config {allowAccountDeletion: true}. Sessions, ' +
        'identities, MFA factors, owned storage objects (bytes too) and sent realtime messages ' +
        'go; the AUTH_USER_DELETION_HOOK function runs in the same transaction.',
      responses: { 200: successMessageSchema },
      errors: { ...ERASURE_ERRORS, 403: ['AUTH_ACCOUNT_DELETION_DISABLED'] },
      authorize: requireUserSession,
      handler: async ({ principal }) => {
        const userId = userIdOf(principal);
        if (!(await auth.getConfig()).allowAccountDeletion) {
          throw new AppError(
            403,
            'AUTH_ACCOUNT_DELETION_DISABLED',
            'This project does not let users delete their own account',
            'An admin can allow it with PUT /api/auth/config {allowAccountDeletion: true}',
          );
        }
        await userData.erase([userId]);
        return { success: true as const, message: 'Account deleted' };
      },
    }),
  ];
}
