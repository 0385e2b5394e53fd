/**
 * The pages' one client: `@insforge/sdk` for everything it covers, its HTTP client for the few
 * routes it has no method for (second factor, sessions, the app's code). Every failure becomes
 * an ApiError carrying the contract's code and message, and the form field it concerns.
 */
import { createClient, type InsForgeClient } from '@insforge/sdk';
import type { User } from '@kiln/shared-schemas';

export const client: InsForgeClient = createClient({
  baseUrl: window.location.origin,
  // The pages handle their own OAuth return (/auth/callback), including a second factor.
  auth: { detectOAuthCallback: false },
  retryCount: 0,
});
const http = client.getHttpClient();

export type Field = 'email' | 'password' | 'currentPassword' | 'code' | 'name' | 'form';

/** Which field an error code concerns (anything else is shown for the whole form). */
const FIELD_OF: Record<string, Field> = {
  AUTH_INVALID_EMAIL: 'email',
  AUTH_EMAIL_EXISTS: 'email',
  AUTH_USER_NOT_FOUND: 'email',
  AUTH_NEED_VERIFICATION: 'email',
  AUTH_WEAK_PASSWORD: 'password',
  AUTH_INVALID_CREDENTIALS: 'password',
  AUTH_INVALID_OTP: 'code',
  AUTH_INVALID_TOKEN: 'code',
  AUTH_MFA_INVALID_CODE: 'code',
  AUTH_MFA_TOO_MANY_ATTEMPTS: 'code',
};

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
    readonly field: Field,
  ) {
    super(message);
  }
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { message?: string; error?: string; statusCode?: number } | null;
  const code = e?.error ?? 'UNEXPECTED_ERROR';
  let field = FIELD_OF[code] ?? 'form';
  // INVALID_INPUT messages start with the field: "email: must be an email address".
  const named = /^(currentPassword|email|password|newPassword|otp|code|name)\b/.exec(
    e?.message ?? '',
  )?.[1];
  if (named === 'currentPassword') field = 'currentPassword';
  else if (code === 'INVALID_INPUT' && named) {
    field = named === 'newPassword' ? 'password' : named === 'otp' ? 'code' : (named as Field);
  }
  // Shown next to its field, the message need not name it again.
  const message = (e?.message ?? String(err)).replace(
    /^(currentPassword|email|password|newPassword|otp|code|name): /,
    '',
  );
  return new ApiError(message, code, e?.statusCode ?? 0, field);
}

/** An SDK call's `{data, error}` as a value or a thrown ApiError. */
export async function sdk<T>(call: Promise<{ data: T | null; error: unknown }>): Promise<T> {
  const { data, error } = await call;
  if (error) throw toApiError(error);
  return data as T;
}

/** A route the SDK has no method for (cookies included, as the SDK's own auth calls do). */
export async function call<T>(
  method: 'get' | 'post' | 'delete',
  path: string,
  body?: unknown,
): Promise<T> {
  try {
    const options = { credentials: 'include' as const };
    if (method === 'get') return (await http.get(path, options)) as T;
    if (method === 'delete') return (await http.delete(path, options)) as T;
    return (await http.post(path, body, options)) as T;
  } catch (err) {
    throw toApiError(err);
  }
}

/** What a sign-in step answers: a session, or the second factor is needed. */
export type SignInResult =
  | { accessToken: string; user: User; requireMfa?: undefined }
  | { accessToken: null; requireMfa: true; mfaToken: string; user?: undefined }
  | { accessToken: null; requireEmailVerification: true; requireMfa?: undefined; user?: undefined };

/** A session obtained outside the SDK's own methods (second factor): the SDK uses it from now. */
export function adoptSession(accessToken: string): void {
  client.setAccessToken(accessToken);
}

export async function currentUser(): Promise<User | null> {
  const { data } = await client.auth.getCurrentUser();
  return (data?.user as User | null) ?? null;
}
