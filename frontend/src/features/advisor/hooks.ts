/** The advisor's findings and the one-click fix. */
import { useQuery } from '@tanstack/react-query';
import type { z } from 'zod';
import type {
  advisorFindingSchema,
  advisorFixResponseSchema,
  advisorResponseSchema,
} from '@kiln/shared-schemas';
import { api } from '../../lib/api';
import { useApiMutation } from '../../lib/mutation';
import { queryKeys } from '../../lib/query';

export type Finding = z.infer<typeof advisorFindingSchema>;
export type FixResult = z.infer<typeof advisorFixResponseSchema>;

/** GET /api/database/advisor: every finding of the exposed schemas (a short list, one call). */
export function useFindings() {
  return useQuery({
    queryKey: queryKeys.advisor.findings(),
    queryFn: async ({ signal }) =>
      (
        await api.get<z.infer<typeof advisorResponseSchema>>(
          '/api/database/advisor',
          undefined,
          signal,
        )
      ).data,
  });
}

/** POST /api/database/advisor/fix: runs the finding's fixSql; the list and the database area refresh. */
export function useFix() {
  return useApiMutation({
    mutationFn: (id: string) => api.post<FixResult>('/api/database/advisor/fix', { id }),
    progress: 'Applying the fix…',
    invalidate: [queryKeys.advisor.all, queryKeys.database.all, queryKeys.overview.all],
  });
}
