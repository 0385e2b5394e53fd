/**
 * The dashboard's one API client. Components never call fetch: area hooks
 * (features/<area>/hooks.ts) call `api` and TanStack Query caches under `queryKeys`.
 *
 * - The admin access token lives in memory only. The refresh token is an httpOnly cookie
 *   (path /api/auth/admin) set at sign-in; its CSRF token is both returned at sign-in and kept in
 *   the readable `insforge_admin_csrf_token` cookie, so a reload can refresh without a password.
 * - A 401 triggers one refresh (POST /api/auth/admin/refresh with X-CSRF-Token; concurrent
 *   callers share it) and the request is retried once; when the refresh fails the session is
 *   over and `onSessionExpired` listeners (the router) send the admin back to sign-in.
 * - Every failure becomes one ApiError: the envelope's code, message and nextActions, the HTTP
 *   status, and the request id from the X-Request-Id response header.
 */
import type { z } from 'zod';
import type {
  adminMfaRequiredResponseSchema,
  adminSessionResponseSchema,
  errorEnvelopeSchema,
} from '@kiln/shared-schemas';

export type AdminSession = z.infer<typeof adminSessionResponseSchema>;
/** Sign-in of an admin with a second factor: finish with finishSignIn(mfaToken, code). */
export type AdminMfaRequired = z.infer<typeof adminMfaRequiredResponseSchema>;
type Envelope = z.infer<typeof errorEnvelopeSchema>;

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    /** HTTP status; 0 when the API could not be reached. */
    readonly status: number,
    /** The envelope's `error` (e.g. AUTH_INVALID_CREDENTIALS); NETWORK_ERROR when unreachable. */
    readonly code: string,
    message: string,
    readonly nextActions?: string,
    /** X-Request-Id of the failed response: quote it when reporting a problem. */
    readonly requestId?: string,
    /**
     * The envelope's other fields, e.g. a SQL error's `sqlState`, 1-based `position`, `detail`
     * and `hint`.
     */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError;
}

/** Where the API is: the dashboard is served by the backend, so the same origin. */
export const apiOrigin = window.location.origin;

const CSRF_COOKIE = 'insforge_admin_csrf_token';
let accessToken: string | null = null;
let csrfToken: string | null = null;
let admin: AdminSession['admin'] | null = null;
const expiredListeners = new Set<() => void>();
const unreachableListeners = new Set<() => void>();

function readCookie(name: string): string | null {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return null;
}

/** Called when the session ends without the admin asking (refresh refused). */
export function onSessionExpired(listener: () => void): () => void {
  expiredListeners.add(listener);
  return () => expiredListeners.delete(listener);
}

/** Called when a request could not reach the API at all (server down, network gone). */
export function onApiUnreachable(listener: () => void): () => void {
  unreachableListeners.add(listener);
  return () => unreachableListeners.delete(listener);
}

export function currentAdmin(): AdminSession['admin'] | null {
  return admin;
}

function adopt(session: AdminSession): void {
  accessToken = session.accessToken;
  admin = session.admin;
  if ('csrfToken' in session) csrfToken = session.csrfToken;
}

function forget(): void {
  accessToken = null;
  admin = null;
  csrfToken = null;
}

async function toApiError(res: Response): Promise<ApiError> {
  const requestId = res.headers.get('x-request-id') ?? undefined;
  let body: Partial<Envelope> | undefined;
  try {
    body = (await res.json()) as Partial<Envelope>;
  } catch {
    body = undefined;
  }
  const message =
    typeof body?.message === 'string' && body.message
      ? body.message
      : `${res.status} ${res.statusText || 'request failed'}`;
  const details: Record<string, unknown> =
    body && typeof body === 'object' && !Array.isArray(body) ? { ...body } : {};
  for (const k of ['error', 'message', 'statusCode', 'nextActions']) delete details[k];
  return new ApiError(
    res.status,
    typeof body?.error === 'string' ? body.error : `HTTP_${res.status}`,
    message,
    typeof body?.nextActions === 'string' ? body.nextActions : undefined,
    requestId,
    details,
  );
}

async function send(path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(path, { credentials: 'same-origin', ...init });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    unreachableListeners.forEach((l) => l());
    throw new ApiError(
      0,
      'NETWORK_ERROR',
      'The Kiln API could not be reached',
      'Check that the server is running, then retry',
    );
  }
}

let refreshing: Promise<boolean> | null = null;

/** Trades the refresh cookie for a new access token; false when there is no live session. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= (async () => {
    const csrf = readCookie(CSRF_COOKIE) ?? csrfToken;
    if (!csrf) return false;
    const res = await send('/api/auth/admin/refresh', {
      method: 'POST',
      headers: { 'X-CSRF-Token': csrf },
    });
    if (!res.ok) {
      if (res.status === 401 || res.status === 403) return false;
      throw await toApiError(res);
    }
    adopt((await res.json()) as AdminSession);
    return true;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** Whether a session may exist (a token held, or the refresh cookie's CSRF twin readable). */
export function mayHaveSession(): boolean {
  return Boolean(accessToken || readCookie(CSRF_COOKIE) || csrfToken);
}

/**
 * The admin's access token for a connection that is not a fetch (the realtime inspector's
 * socket): refreshed first when it is missing or expires within 30 s. Null without a session.
 */
export async function currentAccessToken(): Promise<string | null> {
  const exp = accessToken ? tokenExpiry(accessToken) : 0;
  if (!accessToken || exp - Date.now() < 30_000) {
    if (!(await refreshSession())) return null;
  }
  return accessToken;
}

/** A JWT's `exp` in ms (0 when unreadable: treated as expired). */
function tokenExpiry(token: string): number {
  try {
    const part = token.split('.')[1] ?? '';
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : 0;
  } catch {
    return 0;
  }
}

/** True when an access token is held, or one could be had from the refresh cookie. */
export async function ensureSession(): Promise<boolean> {
  if (accessToken) return true;
  return refreshSession();
}

/**
 * Admin sign-in: a session, or (an admin who is a user with a second factor) `requireMfa` with
 * the token finishSignIn takes with their code.
 */
export async function signIn(
  email: string,
  password: string,
): Promise<AdminSession | AdminMfaRequired> {
  const answer = await request<AdminSession | AdminMfaRequired>(
    'POST',
    '/api/auth/admin/sessions',
    { body: { username: email, password }, auth: false },
  );
  if ('requireMfa' in answer) return answer;
  adopt(answer);
  return answer;
}

/** The second step of an admin's sign-in: the TOTP (or recovery) code. */
export async function finishSignIn(mfaToken: string, code: string): Promise<AdminSession> {
  const session = await request<AdminSession>('POST', '/api/auth/admin/sessions/mfa', {
    body: { mfaToken, code },
    auth: false,
  });
  adopt(session);
  return session;
}

export async function signOut(): Promise<void> {
  const csrf = readCookie(CSRF_COOKIE) ?? csrfToken;
  try {
    await send('/api/auth/admin/logout', {
      method: 'POST',
      headers: {
        ...(csrf ? { 'X-CSRF-Token': csrf } : {}),
        ...(accessToken ? { Authorization: `Bearer ${accessToken}` } : {}),
      },
    });
  } finally {
    forget();
  }
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** false: send no access token and never refresh (sign-in). */
  auth?: boolean;
  /** Sees the successful response's headers (e.g. the records API's Content-Range). */
  onResponse?: (res: Response) => void;
}

function withQuery(path: string, query: Query | undefined): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}${path.includes('?') ? '&' : '?'}${qs}` : path;
}

export async function request<T>(
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<T> {
  const useAuth = options.auth !== false;
  const attempt = () => {
    const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    if (useAuth && accessToken) headers.Authorization = `Bearer ${accessToken}`;
    return send(withQuery(path, options.query), {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  };
  let res = await attempt();
  if (res.status === 401 && useAuth) {
    if (await refreshSession()) {
      res = await attempt();
    } else {
      const err = await toApiError(res);
      forget();
      expiredListeners.forEach((l) => l());
      throw err;
    }
  }
  if (!res.ok) throw await toApiError(res);
  options.onResponse?.(res);
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  return (type.includes('json') ? await res.json() : await res.text()) as T;
}

/** The typed verbs; the response type comes from the area's shared-schemas type. */
export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) =>
    request<T>('GET', path, { query, signal }),
  post: <T>(path: string, body?: unknown, query?: Query) =>
    request<T>('POST', path, { body, query }),
  put: <T>(path: string, body?: unknown) => request<T>('PUT', path, { body }),
  patch: <T>(path: string, body?: unknown) => request<T>('PATCH', path, { body }),
  delete: <T>(path: string, body?: unknown) => request<T>('DELETE', path, { body }),
};

/**
 * POSTs `body` and hands back the response unread once it is OK, for an answer read as it
 * arrives (Server-Sent Events: the AI playground's streamed chat). Same token, refresh on a 401
 * and ApiError as `request`; `signal` aborts the request and the stream.
 */
export async function openStream(
  path: string,
  body: unknown,
  signal?: AbortSignal,
): Promise<Response> {
  const attempt = () =>
    send(path, {
      method: 'POST',
      headers: {
        Accept: 'text/event-stream',
        'Content-Type': 'application/json',
        ...(accessToken ? { Authorization: `Bearer ${accessToken}` } : {}),
      },
      body: JSON.stringify(body),
      signal,
    });
  let res = await attempt();
  if (res.status === 401) {
    if (await refreshSession()) {
      res = await attempt();
    } else {
      const err = await toApiError(res);
      forget();
      expiredListeners.forEach((l) => l());
      throw err;
    }
  }
  if (!res.ok) throw await toApiError(res);
  return res;
}

/**
 * A multipart upload with progress (XMLHttpRequest: fetch reports no upload progress). Sends the
 * admin's token, refreshes once on a 401, and fails with the same ApiError as `request`.
 */
export async function uploadWithProgress<T>(
  path: string,
  form: FormData,
  onProgress: (fraction: number) => void,
  /** `method` (default POST; PUT stores under the path's key); `signal` aborts the upload. */
  options: { method?: 'POST' | 'PUT'; signal?: AbortSignal } = {},
): Promise<T> {
  const attempt = () =>
    new Promise<{ status: number; text: string; requestId: string | null }>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(options.method ?? 'POST', path);
      if (options.signal) {
        if (options.signal.aborted) return reject(new DOMException('Aborted', 'AbortError'));
        options.signal.addEventListener('abort', () => xhr.abort(), { once: true });
      }
      xhr.onabort = () => reject(new DOMException('Aborted', 'AbortError'));
      xhr.setRequestHeader('Accept', 'application/json');
      if (accessToken) xhr.setRequestHeader('Authorization', `Bearer ${accessToken}`);
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      };
      xhr.onload = () =>
        resolve({
          status: xhr.status,
          text: xhr.responseText,
          requestId: xhr.getResponseHeader('x-request-id'),
        });
      xhr.onerror = () =>
        reject(new ApiError(0, 'NETWORK_ERROR', 'The Kiln API could not be reached'));
      xhr.send(form);
    });
  await ensureSession();
  let res = await attempt();
  if (res.status === 401 && (await refreshSession())) res = await attempt();
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    body = undefined;
  }
  if (res.status >= 200 && res.status < 300) return body as T;
  const env = (body ?? {}) as Partial<Envelope>;
  throw new ApiError(
    res.status,
    typeof env.error === 'string' ? env.error : `HTTP_${res.status}`,
    typeof env.message === 'string' && env.message ? env.message : `${res.status} upload failed`,
    typeof env.nextActions === 'string' ? env.nextActions : undefined,
    res.requestId ?? undefined,
  );
}

/**
 * POSTs `body` (or GETs `path` when `body` is undefined: a backup's tar) and saves the answer as
 * a file (an export): the server's file name if it names one.
 */
export async function downloadFile(
  path: string,
  body: unknown,
  fallbackName: string,
): Promise<void> {
  const attempt = () =>
    send(path, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...(accessToken ? { Authorization: `Bearer ${accessToken}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  await ensureSession();
  let res = await attempt();
  if (res.status === 401 && (await refreshSession())) res = await attempt();
  if (!res.ok) throw await toApiError(res);
  const disposition = res.headers.get('content-disposition') ?? '';
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** GET /api/health without credentials: false when the API is down or unreachable. */
export async function apiReachable(): Promise<boolean> {
  try {
    const res = await fetch('/api/health', { cache: 'no-store' });
    return res.ok;
  } catch {
    return false;
  }
}
