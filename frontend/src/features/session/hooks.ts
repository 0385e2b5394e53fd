/** The signed-in admin's sessions (GET/DELETE /api/auth/admin/sessions...). */
import { useQuery } from '@tanstack/react-query';
import type { z } from 'zod';
import type {
  listAdminSessionsResponseSchema,
  revokedCountResponseSchema,
  successMessageSchema,
} from '@kiln/shared-schemas';
import { api } from '../../lib/api';
import { useApiMutation } from '../../lib/mutation';
import { queryKeys } from '../../lib/query';

export type AdminSessions = z.infer<typeof listAdminSessionsResponseSchema>;

export function useAdminSessions(enabled: boolean) {
  return useQuery({
    queryKey: queryKeys.session.adminSessions(),
    queryFn: ({ signal }) => api.get<AdminSessions>('/api/auth/admin/sessions', undefined, signal),
    enabled,
  });
}

export function useRevokeAdminSession() {
  return useApiMutation({
    mutationFn: (id: string) =>
      api.delete<z.infer<typeof successMessageSchema>>(
        `/api/auth/admin/sessions/${encodeURIComponent(id)}`,
      ),
    progress: 'Revoking the session…',
    invalidate: [queryKeys.session.adminSessions()],
  });
}

export function useRevokeOtherAdminSessions() {
  return useApiMutation({
    mutationFn: () =>
      api.post<z.infer<typeof revokedCountResponseSchema>>(
        '/api/auth/admin/sessions/revoke-others',
      ),
    progress: 'Signing out the other sessions…',
    success: (d) =>
      d.revokedCount === 1
        ? 'Signed out 1 other session'
        : `Signed out ${d.revokedCount} other sessions`,
    invalidate: [queryKeys.session.adminSessions()],
  });
}
