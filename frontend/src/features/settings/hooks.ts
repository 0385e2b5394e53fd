/**
 * The project's settings (GET/PATCH /api/settings) and keys (GET /api/metadata/{api,anon}-key,
 * POST …/rotate).
 */
import { useQuery } from '@tanstack/react-query';
import type { z } from 'zod';
import type {
  anonKeyResponseSchema,
  apiKeyResponseSchema,
  rotatedAnonKeyResponseSchema,
  rotatedApiKeyResponseSchema,
  settingsResponseSchema,
  updateSettingsRequestSchema,
} from '@kiln/shared-schemas';
import { api } from '../../lib/api';
import { useApiMutation } from '../../lib/mutation';
import { queryKeys } from '../../lib/query';

export type Settings = z.infer<typeof settingsResponseSchema>;
export type EnvironmentSetting = Settings['environment'][number];
export type SettingSource = Settings['runtime']['corsOrigins']['source'];
export type SettingsUpdate = z.input<typeof updateSettingsRequestSchema>;
export type KeyKind = 'api' | 'anon';

export function useSettings() {
  return useQuery({
    queryKey: queryKeys.settings.detail(),
    queryFn: ({ signal }) => api.get<Settings>('/api/settings', undefined, signal),
  });
}

export function useUpdateSettings() {
  return useApiMutation({
    mutationFn: (body: SettingsUpdate) => api.patch<Settings>('/api/settings', body),
    progress: 'Saving the settings…',
    success: (_s, body) =>
      body.corsOrigins === null ? 'CORS origins reset' : 'CORS origins saved: applied now',
    invalidate: [queryKeys.settings.detail()],
  });
}

/** The active key of a kind (admins only). */
export function useProjectKey(kind: KeyKind) {
  return useQuery({
    queryKey: queryKeys.settings.key(kind),
    queryFn: async ({ signal }) => {
      const path = `/api/metadata/${kind}-key`;
      return kind === 'api'
        ? (await api.get<z.infer<typeof apiKeyResponseSchema>>(path, undefined, signal)).apiKey
        : (await api.get<z.infer<typeof anonKeyResponseSchema>>(path, undefined, signal)).anonKey;
    },
  });
}

export interface RotatedKey {
  key: string;
  /** When the old key stops working (null: it already has). */
  previousKeyValidUntil: string | null;
}

/** POST /api/metadata/{api,anon}-key/rotate: the old key keeps working for `graceSeconds`. */
export function useRotateKey(kind: KeyKind) {
  return useApiMutation({
    mutationFn: async (graceSeconds: number): Promise<RotatedKey> => {
      const path = `/api/metadata/${kind}-key/rotate`;
      if (kind === 'api') {
        const r = await api.post<z.infer<typeof rotatedApiKeyResponseSchema>>(path, {
          graceSeconds,
        });
        return { key: r.apiKey, previousKeyValidUntil: r.previousKeyValidUntil };
      }
      const r = await api.post<z.infer<typeof rotatedAnonKeyResponseSchema>>(path, {
        graceSeconds,
      });
      return { key: r.anonKey, previousKeyValidUntil: r.previousKeyValidUntil };
    },
    progress: kind === 'api' ? 'Rotating the API key…' : 'Rotating the anon key…',
    success: kind === 'api' ? 'API key rotated' : 'Anon key rotated',
    invalidate: [queryKeys.settings.key(kind), queryKeys.overview.key(kind)],
  });
}
