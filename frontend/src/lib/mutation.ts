/**
 * useApiMutation: every dashboard mutation shows progress (a loading toast, and `isPending`
 * for the button) and ends in a toast carrying the API's message: the response's `message`
 * on success (or the caller's text), the ApiError's message, code and request id on failure.
 */
import { useMutation, useQueryClient, type QueryKey } from '@tanstack/react-query';
import { toast } from 'sonner';
import { isApiError } from './api';

export interface ApiMutationOptions<TData, TVars> {
  mutationFn: (vars: TVars) => Promise<TData>;
  /** Shown while the request runs, e.g. "Rotating the API key…". */
  progress: string;
  /** Success text; default: the response's `message`, else "Done". */
  success?: string | ((data: TData, vars: TVars) => string);
  /** Query keys (prefixes) to refetch after success. */
  invalidate?: QueryKey[];
  onSuccess?: (data: TData, vars: TVars) => void;
  onError?: (err: unknown, vars: TVars) => void;
}

export function errorToastDescription(err: unknown): string | undefined {
  if (!isApiError(err)) return undefined;
  return [err.code, err.nextActions, err.requestId && `request ${err.requestId}`]
    .filter(Boolean)
    .join(' · ');
}

export function useApiMutation<TData, TVars = void>(opts: ApiMutationOptions<TData, TVars>) {
  const client = useQueryClient();
  return useMutation<TData, unknown, TVars, { toastId: string | number }>({
    mutationFn: opts.mutationFn,
    onMutate: () => ({ toastId: toast.loading(opts.progress) }),
    onSuccess: async (data, vars, ctx) => {
      const fromApi =
        data && typeof data === 'object' && 'message' in data && typeof data.message === 'string'
          ? data.message
          : undefined;
      const text =
        typeof opts.success === 'function' ? opts.success(data, vars) : (opts.success ?? fromApi);
      toast.success(text ?? 'Done', { id: ctx?.toastId });
      await Promise.all(
        (opts.invalidate ?? []).map((queryKey) => client.invalidateQueries({ queryKey })),
      );
      opts.onSuccess?.(data, vars);
    },
    onError: (err, vars, ctx) => {
      toast.error(err instanceof Error ? err.message : 'The request failed', {
        id: ctx?.toastId,
        description: errorToastDescription(err),
      });
      opts.onError?.(err, vars);
    },
  });
}
