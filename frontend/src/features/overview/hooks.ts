/** The overview's reads and the key rotations. */
import { useQuery } from '@tanstack/react-query';
import type { z } from 'zod';
import type {
  anonKeyResponseSchema,
  apiKeyResponseSchema,
  healthResponseSchema,
  listAuditLogsResponseSchema,
  listUsersResponseSchema,
  projectMetadataSchema,
  rotatedAnonKeyHoursResponseSchema,
  rotatedApiKeyHoursResponseSchema,
} from '@kiln/shared-schemas';
import { api } from '../../lib/api';
import { useApiMutation } from '../../lib/mutation';
import { queryKeys } from '../../lib/query';

export type Health = z.infer<typeof healthResponseSchema>;
export type ProjectMetadata = z.infer<typeof projectMetadataSchema>;
export type AuditPage = z.infer<typeof listAuditLogsResponseSchema>;
export type KeyKind = 'api' | 'anon';

export function useHealth() {
  return useQuery({
    queryKey: queryKeys.health,
    queryFn: ({ signal }) => api.get<Health>('/api/health', undefined, signal),
    refetchInterval: 30_000,
  });
}

/** GET /api/metadata: the project's tables, buckets, functions and channels (no rows). */
export function useMetadata() {
  return useQuery({
    queryKey: queryKeys.overview.metadata(),
    queryFn: ({ signal }) => api.get<ProjectMetadata>('/api/metadata', undefined, signal),
  });
}

/** The number of users: one user fetched, the total from the pagination. */
export function useUserCount() {
  return useQuery({
    queryKey: queryKeys.overview.userCount(),
    queryFn: async ({ signal }) =>
      (
        await api.get<z.infer<typeof listUsersResponseSchema>>(
          '/api/auth/users',
          { limit: 1, offset: 0 },
          signal,
        )
      ).pagination.total,
  });
}

export function useRecentActivity(limit: number) {
  return useQuery({
    queryKey: queryKeys.overview.audit(limit),
    queryFn: ({ signal }) => api.get<AuditPage>('/api/logs/audits', { limit, offset: 0 }, signal),
  });
}

export function useKey(kind: KeyKind) {
  return useQuery({
    queryKey: queryKeys.overview.key(kind),
    queryFn: async ({ signal }) =>
      kind === 'api'
        ? (
            await api.get<z.infer<typeof apiKeyResponseSchema>>(
              '/api/metadata/api-key',
              undefined,
              signal,
            )
          ).apiKey
        : (
            await api.get<z.infer<typeof anonKeyResponseSchema>>(
              '/api/metadata/anon-key',
              undefined,
              signal,
            )
          ).anonKey,
  });
}

type Rotated =
  | z.infer<typeof rotatedApiKeyHoursResponseSchema>
  | z.infer<typeof rotatedAnonKeyHoursResponseSchema>;

/** POST /api/secrets/{api,anon}-key/rotate: the old key keeps working for `gracePeriodHours`. */
export function useRotateKey(kind: KeyKind) {
  return useApiMutation({
    mutationFn: (gracePeriodHours: number) =>
      api.post<Rotated>(`/api/secrets/${kind}-key/rotate`, { gracePeriodHours }),
    progress: kind === 'api' ? 'Rotating the API key…' : 'Rotating the anon key…',
    invalidate: [queryKeys.overview.key(kind), queryKeys.overview.all],
  });
}
