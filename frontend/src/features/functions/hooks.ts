/**
 * The Functions area's reads and writes: functions (GET/POST/PUT/DELETE /api/functions…), the
 * save-then-deploy sequence with its steps, a test call through the real endpoint
 * (/functions/:slug…), a function's live log (the Logs area's lines, source function.logs), and
 * the secrets (/api/secrets…).
 */
import { useMemo, useState } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import type {
  CreateFunctionRequest,
  EdgeFunction,
  FunctionDeploymentResponse,
  FunctionDiagnostics,
  ListFunctionsResponse,
  ListSecretsResponse,
  SecretChangedResponse,
  SecretSummary,
  UpdateSecretRequest,
} from '@kiln/shared-schemas';
import { api, isApiError } from '../../lib/api';
import { useApiMutation } from '../../lib/mutation';
import { queryKeys } from '../../lib/query';
import { useLogLines, type LogEntry } from '../logs/hooks';

export type { EdgeFunction, FunctionDiagnostics, LogEntry, SecretSummary };

const functionPath = (slug: string) => `/api/functions/${encodeURIComponent(slug)}`;

export function useFunctions() {
  return useQuery({
    queryKey: queryKeys.functions.list(),
    queryFn: ({ signal }) => api.get<ListFunctionsResponse>('/api/functions', undefined, signal),
  });
}

export function useFunction(slug: string) {
  return useQuery({
    queryKey: queryKeys.functions.detail(slug),
    queryFn: ({ signal }) => api.get<EdgeFunction>(functionPath(slug), undefined, signal),
  });
}

interface Changed {
  success: true;
  function: EdgeFunction;
}

/** A new function, loaded by Deno and deployed at once (the API does both). */
export function useCreateFunction() {
  return useApiMutation({
    mutationFn: (body: CreateFunctionRequest) => api.post<Changed>('/api/functions', body),
    progress: 'Creating and deploying the function…',
    success: (r) => `Function ${r.function.slug} deployed`,
    invalidate: [queryKeys.functions.list()],
  });
}

export function useDeleteFunction() {
  return useApiMutation({
    mutationFn: (slug: string) => api.delete<{ message: string }>(functionPath(slug)),
    progress: 'Deleting the function…',
    invalidate: [queryKeys.functions.list()],
  });
}

/** The deploy sequence: save (Deno loads the code first), deploy, then the deployment's state. */
export const deploySteps = [
  { id: 'save', label: 'Check and save', detail: 'Deno loads the code' },
  { id: 'deploy', label: 'Deploy', detail: 'The new version is made the one served' },
  { id: 'ready', label: 'Live', detail: 'The deployment answers calls' },
] as const;
export type DeployStepId = (typeof deploySteps)[number]['id'];
export type StepState = 'idle' | 'running' | 'done' | 'failed';
export type DeployState = Record<DeployStepId, StepState>;

const IDLE: DeployState = { save: 'idle', deploy: 'idle', ready: 'idle' };

/** The diagnostics of a save Deno refused (400 FUNCTION_INVALID_CODE), if that is the error. */
export function diagnosticsOf(err: unknown): FunctionDiagnostics | undefined {
  if (!isApiError(err) || err.code !== 'FUNCTION_INVALID_CODE') return undefined;
  const d = err.details.diagnostics as Partial<FunctionDiagnostics> | undefined;
  return {
    name: typeof d?.name === 'string' ? d.name : 'Error',
    message: typeof d?.message === 'string' ? d.message : err.message,
    line: typeof d?.line === 'number' ? d.line : undefined,
    column: typeof d?.column === 'number' ? d.column : undefined,
  };
}

/**
 * Saves the code (PUT: Deno loads it first and answers 400 with diagnostics when it does not),
 * deploys the saved version (POST …/deploy), then reads the deployment's state; `steps` tells
 * where it is. Deno Subhosting builds in the background: its state is read until it settles.
 */
export function useSaveAndDeploy(slug: string) {
  const [steps, setSteps] = useState<DeployState>(IDLE);
  const [runtime, setRuntime] = useState<FunctionDeploymentResponse | undefined>();
  const mutation = useApiMutation({
    mutationFn: async (code: string) => {
      let step: DeployStepId = 'save';
      const mark = (id: DeployStepId, state: StepState) => setSteps((s) => ({ ...s, [id]: state }));
      setSteps({ save: 'running', deploy: 'idle', ready: 'idle' });
      setRuntime(undefined);
      try {
        await api.put<Changed>(functionPath(slug), { code });
        mark('save', 'done');
        step = 'deploy';
        mark('deploy', 'running');
        const deployed = await api.post<Changed>(`${functionPath(slug)}/deploy`);
        mark('deploy', 'done');
        step = 'ready';
        mark('ready', 'running');
        let state = await api.get<FunctionDeploymentResponse>(`${functionPath(slug)}/deployment`);
        for (let i = 0; i < 30 && state.deployment?.status === 'pending'; i++) {
          await new Promise((r) => setTimeout(r, 2000));
          state = await api.get<FunctionDeploymentResponse>(`${functionPath(slug)}/deployment`);
        }
        setRuntime(state);
        const failed = state.deployment?.status === 'failed' || Boolean(state.deployment?.error);
        mark('ready', failed ? 'failed' : 'done');
        if (failed) throw new Error(state.deployment?.error ?? 'The deployment failed');
        return deployed;
      } catch (err) {
        mark(step, 'failed');
        throw err;
      }
    },
    progress: 'Saving and deploying…',
    success: (r) => `Version ${r.function.version} of ${r.function.slug} deployed`,
    invalidate: [queryKeys.functions.all],
  });
  return { ...mutation, steps, runtime, diagnostics: diagnosticsOf(mutation.error) };
}

/** A test call's answer as the panel shows it. */
export interface Invocation {
  status: number;
  statusText: string;
  headers: [string, string][];
  body: string;
  contentType: string;
  ms: number;
}

export interface InvocationRequest {
  method: string;
  /** After the slug: "/" or "/items?limit=2". */
  path: string;
  headers: [string, string][];
  body: string;
}

/**
 * Calls the function through its real endpoint, /functions/:slug…, as any client would (not the
 * admin API: no admin token is sent unless the headers carry one), and times the answer.
 */
export async function invokeFunction(slug: string, req: InvocationRequest): Promise<Invocation> {
  const suffix = req.path.trim() === '' || req.path.trim() === '/' ? '' : req.path.trim();
  const url = `/functions/${encodeURIComponent(slug)}${suffix.startsWith('/') || suffix.startsWith('?') || suffix === '' ? suffix : `/${suffix}`}`;
  const headers = new Headers();
  for (const [name, value] of req.headers) headers.append(name, value);
  const started = performance.now();
  const res = await fetch(url, {
    method: req.method,
    headers,
    body: req.method === 'GET' || req.method === 'HEAD' ? undefined : req.body,
    credentials: 'omit',
    cache: 'no-store',
    redirect: 'manual',
  });
  const body = await res.text();
  return {
    status: res.status,
    statusText: res.statusText,
    headers: [...res.headers.entries()],
    body,
    contentType: res.headers.get('content-type') ?? '',
    ms: Math.round(performance.now() - started),
  };
}

export function useInvoke(slug: string) {
  return useMutation({ mutationFn: (req: InvocationRequest) => invokeFunction(slug, req) });
}

/**
 * The function's lines of the last hour, newest first: console output (stdout, stderr) and one
 * line per invocation. The Logs area's query (text-matched on the slug, source function.logs),
 * re-read every 2 s while live, kept to this function's own lines.
 */
export function useFunctionLogs(slug: string, live: boolean) {
  const lines = useLogLines({ source: 'function.logs', q: slug, range: '1h', live });
  const entries = useMemo(
    () =>
      lines.data?.pages.flatMap((p) => p.logs).filter((l) => l.metadata.slug === slug) ?? undefined,
    [lines.data, slug],
  );
  return { ...lines, entries };
}

// ---- Secrets ----

const secretPath = (key: string) => `/api/secrets/${encodeURIComponent(key)}`;

export function useSecrets() {
  return useQuery({
    queryKey: queryKeys.functions.secrets(),
    queryFn: ({ signal }) => api.get<ListSecretsResponse>('/api/secrets', undefined, signal),
  });
}

export function useCreateSecret() {
  return useApiMutation({
    mutationFn: (body: { key: string; value: string; expiresAt?: string | null }) =>
      api.post<SecretChangedResponse>('/api/secrets', body),
    progress: 'Adding the secret…',
    invalidate: [queryKeys.functions.secrets()],
  });
}

export function useUpdateSecret() {
  return useApiMutation({
    mutationFn: ({ key, change }: { key: string; change: UpdateSecretRequest }) =>
      api.put<SecretChangedResponse>(secretPath(key), change),
    progress: 'Saving the secret…',
    invalidate: [queryKeys.functions.secrets()],
  });
}

export function useDeleteSecret() {
  return useApiMutation({
    mutationFn: (key: string) => api.delete<SecretChangedResponse>(secretPath(key)),
    progress: 'Deleting the secret…',
    invalidate: [queryKeys.functions.secrets()],
  });
}
