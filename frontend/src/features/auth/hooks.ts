/**
 * The Authentication area's reads and writes: users (server-side search and pages), a user's
 * identities and sessions, the auth settings, OAuth providers, SMTP and email templates.
 */
import { useQuery } from '@tanstack/react-query';
import type { z } from 'zod';
import type {
  AdminUpdateUserRequest,
  CreateUserRequest,
  appRoleSchema,
  authConfigResponseSchema,
  customOAuthConfigSchema,
  deleteUsersResponseSchema,
  emailSentResponseSchema,
  emailTemplatePreviewSchema,
  emailTemplateSchema,
  listCustomOAuthConfigsResponseSchema,
  listAppRolesResponseSchema,
  listEmailTemplatesResponseSchema,
  listOAuthProviderConfigsResponseSchema,
  listSessionsResponseSchema,
  listUserIdentitiesResponseSchema,
  listUsersResponseSchema,
  oauthProviderConfigRequestSchema,
  oauthProviderConfigSchema,
  previewEmailTemplateRequestSchema,
  removedFactorsResponseSchema,
  revokedCountResponseSchema,
  signUpResponseSchema,
  smtpConfigResponseSchema,
  successMessageSchema,
  updateAuthConfigRequestSchema,
  updateEmailTemplateRequestSchema,
  updateSmtpConfigRequestSchema,
  userSchema,
} from '@kiln/shared-schemas';
import { api, request } from '../../lib/api';
import { useApiMutation } from '../../lib/mutation';
import { queryKeys } from '../../lib/query';

export type User = z.infer<typeof userSchema>;
export type AppRole = z.infer<typeof appRoleSchema>;
export type UsersPage = z.infer<typeof listUsersResponseSchema>;
export type AuthConfig = z.infer<typeof authConfigResponseSchema>;
export type AuthConfigUpdate = z.infer<typeof updateAuthConfigRequestSchema>;
export type ProviderConfig = z.infer<typeof oauthProviderConfigSchema>;
export type ProviderConfigInput = z.infer<typeof oauthProviderConfigRequestSchema>;
export type CustomProviderConfig = z.infer<typeof customOAuthConfigSchema>;
export type SmtpConfig = z.infer<typeof smtpConfigResponseSchema>;
export type SmtpConfigUpdate = z.infer<typeof updateSmtpConfigRequestSchema>;
export type EmailTemplate = z.infer<typeof emailTemplateSchema>;
export type TemplatePreview = z.infer<typeof emailTemplatePreviewSchema>;
export type TemplatePreviewInput = z.infer<typeof previewEmailTemplateRequestSchema>;

export const USERS_PAGE_SIZE = 20;

/** The built-in OAuth providers Kiln knows (backend/src/auth/providers), in display order. */
export const BUILT_IN_PROVIDERS = [
  { key: 'google', label: 'Google' },
  { key: 'github', label: 'GitHub' },
  { key: 'microsoft', label: 'Microsoft' },
  { key: 'apple', label: 'Apple' },
  { key: 'discord', label: 'Discord' },
  { key: 'linkedin', label: 'LinkedIn' },
  { key: 'x', label: 'X' },
  { key: 'facebook', label: 'Facebook' },
] as const;

// ---- users ----------------------------------------------------------------------------------

export function useUsers(q: string, offset: number) {
  return useQuery({
    queryKey: queryKeys.auth.users(q, offset, USERS_PAGE_SIZE),
    queryFn: ({ signal }) =>
      api.get<UsersPage>(
        '/api/auth/users',
        { search: q || undefined, offset, limit: USERS_PAGE_SIZE },
        signal,
      ),
    placeholderData: (previous) => previous,
  });
}

export function useUser(id: string | undefined) {
  return useQuery({
    queryKey: queryKeys.auth.user(id ?? ''),
    enabled: Boolean(id),
    queryFn: ({ signal }) =>
      api.get<User>(`/api/auth/users/${encodeURIComponent(id!)}`, undefined, signal),
  });
}

export function useUserIdentities(id: string | undefined) {
  return useQuery({
    queryKey: [...queryKeys.auth.user(id ?? ''), 'identities'],
    enabled: Boolean(id),
    queryFn: ({ signal }) =>
      api.get<z.infer<typeof listUserIdentitiesResponseSchema>>(
        `/api/auth/users/${encodeURIComponent(id!)}/identities`,
        undefined,
        signal,
      ),
  });
}

export function useUserSessions(id: string | undefined) {
  return useQuery({
    queryKey: [...queryKeys.auth.user(id ?? ''), 'sessions'],
    enabled: Boolean(id),
    queryFn: ({ signal }) =>
      api.get<z.infer<typeof listSessionsResponseSchema>>(
        `/api/auth/users/${encodeURIComponent(id!)}/sessions`,
        undefined,
        signal,
      ),
  });
}

const userInvalidations = [queryKeys.auth.all, queryKeys.overview.all];

export function useCreateUser() {
  return useApiMutation({
    mutationFn: (body: CreateUserRequest) =>
      api.post<z.infer<typeof signUpResponseSchema>>('/api/auth/users', body),
    progress: 'Creating the user…',
    success: (_data, vars) =>
      vars.invite ? `User ${vars.email} created; invitation sent` : `User ${vars.email} created`,
    invalidate: userInvalidations,
  });
}

export function useDeleteUsers() {
  return useApiMutation({
    mutationFn: (userIds: string[]) =>
      api.delete<z.infer<typeof deleteUsersResponseSchema>>('/api/auth/users', { userIds }),
    progress: 'Deleting…',
    invalidate: userInvalidations,
  });
}

/** The application roles (admin-defined; they travel in user tokens as `app_roles`). */
export function useAppRoles() {
  return useQuery({
    queryKey: [...queryKeys.auth.all, 'roles'],
    queryFn: ({ signal }) =>
      api.get<z.infer<typeof listAppRolesResponseSchema>>('/api/auth/roles', undefined, signal),
  });
}

export function useCreateAppRole() {
  return useApiMutation({
    mutationFn: (name: string) => api.post<AppRole>('/api/auth/roles', { name }),
    progress: 'Creating the role…',
    success: (role) => `Role ${role.name} created`,
    invalidate: [queryKeys.auth.all],
  });
}

/** PATCH /api/auth/users/:id: roles, ban, metadata, email, password, email-verified. */
export function useUpdateUser(success: (user: User) => string) {
  return useApiMutation({
    mutationFn: ({ id, patch }: { id: string; patch: AdminUpdateUserRequest }) =>
      api.patch<User>(`/api/auth/users/${encodeURIComponent(id)}`, patch),
    progress: 'Saving…',
    success,
    invalidate: userInvalidations,
  });
}

export function useMarkVerified() {
  return useApiMutation({
    mutationFn: (id: string) =>
      api.patch<User>(`/api/auth/users/${encodeURIComponent(id)}`, { emailVerified: true }),
    progress: 'Marking the address verified…',
    success: (user) => `${user.email} is verified`,
    invalidate: [queryKeys.auth.all],
  });
}

export function useRevokeSessions() {
  return useApiMutation({
    mutationFn: (id: string) =>
      api.delete<z.infer<typeof revokedCountResponseSchema>>(
        `/api/auth/users/${encodeURIComponent(id)}/sessions`,
      ),
    progress: 'Signing the user out…',
    success: ({ revokedCount }) =>
      revokedCount === 1 ? '1 session revoked' : `${revokedCount} sessions revoked`,
    invalidate: [queryKeys.auth.all],
  });
}

export function useResetMfa() {
  return useApiMutation({
    mutationFn: (id: string) =>
      api.delete<z.infer<typeof removedFactorsResponseSchema>>(
        `/api/auth/users/${encodeURIComponent(id)}/mfa`,
      ),
    progress: 'Removing second factors…',
    success: ({ removedFactors }) =>
      removedFactors === 0
        ? 'The user had no second factor'
        : `${removedFactors} second factor${removedFactors === 1 ? '' : 's'} removed`,
    invalidate: [queryKeys.auth.all],
  });
}

// ---- settings -------------------------------------------------------------------------------

export function useAuthConfig() {
  return useQuery({
    queryKey: queryKeys.auth.config(),
    queryFn: ({ signal }) => api.get<AuthConfig>('/api/auth/config', undefined, signal),
  });
}

export function useSaveAuthConfig() {
  return useApiMutation({
    mutationFn: (body: AuthConfigUpdate) => api.put<AuthConfig>('/api/auth/config', body),
    progress: 'Saving the auth settings…',
    success: 'Auth settings saved',
    invalidate: [queryKeys.auth.config()],
  });
}

// ---- OAuth providers ------------------------------------------------------------------------

export function useOAuthConfigs() {
  return useQuery({
    queryKey: queryKeys.auth.oauth(),
    queryFn: async ({ signal }) => {
      const [builtIn, custom] = await Promise.all([
        api.get<z.infer<typeof listOAuthProviderConfigsResponseSchema>>(
          '/api/auth/oauth/configs',
          undefined,
          signal,
        ),
        api.get<z.infer<typeof listCustomOAuthConfigsResponseSchema>>(
          '/api/auth/oauth/custom/configs',
          undefined,
          signal,
        ),
      ]);
      return { builtIn: builtIn.data, custom: custom.data };
    },
  });
}

const providerPath = (key: string, custom: boolean) =>
  `/api/auth/oauth/${custom ? 'custom/' : ''}${encodeURIComponent(key)}/config`;

export function useSaveProvider() {
  return useApiMutation({
    mutationFn: ({
      key,
      custom,
      config,
    }: {
      key: string;
      custom: boolean;
      config: ProviderConfigInput;
      /** What the toast says on success. */
      done: string;
    }) => api.put<ProviderConfig>(providerPath(key, custom), config),
    progress: 'Saving the provider…',
    success: (_d, vars) => vars.done,
    invalidate: [queryKeys.auth.oauth()],
  });
}

export function useRemoveProvider() {
  return useApiMutation({
    mutationFn: ({ key, custom }: { key: string; custom: boolean }) =>
      api.delete<z.infer<typeof successMessageSchema>>(providerPath(key, custom)),
    progress: 'Removing the provider…',
    invalidate: [queryKeys.auth.oauth()],
  });
}

// ---- email ----------------------------------------------------------------------------------

export function useSmtpConfig() {
  return useQuery({
    queryKey: queryKeys.auth.smtp(),
    queryFn: ({ signal }) => api.get<SmtpConfig>('/api/auth/smtp-config', undefined, signal),
  });
}

export function useSaveSmtp() {
  return useApiMutation({
    mutationFn: (body: SmtpConfigUpdate) => api.put<SmtpConfig>('/api/auth/smtp-config', body),
    progress: 'Saving the SMTP settings…',
    success: 'SMTP settings saved',
    invalidate: [queryKeys.auth.smtp()],
  });
}

export function useTestSmtp() {
  return useApiMutation({
    mutationFn: (to: string) =>
      api.post<z.infer<typeof emailSentResponseSchema>>('/api/auth/smtp-config/test', { to }),
    progress: 'Sending a test message…',
    success: (r, to) =>
      r.mode === 'smtp' ? `Test message sent to ${to}` : (r.message ?? 'Logged, not sent'),
  });
}

export function useEmailTemplates() {
  return useQuery({
    queryKey: queryKeys.auth.templates(),
    queryFn: async ({ signal }) =>
      (
        await api.get<z.infer<typeof listEmailTemplatesResponseSchema>>(
          '/api/auth/email-templates',
          undefined,
          signal,
        )
      ).templates,
  });
}

/** A draft rendered with sample values (nothing saved); `draft` undefined: nothing to render. */
export function useTemplatePreview(type: string, draft: TemplatePreviewInput | undefined) {
  return useQuery({
    queryKey: [...queryKeys.auth.templates(), 'preview', type, draft],
    enabled: draft !== undefined,
    queryFn: ({ signal }) =>
      request<TemplatePreview>('POST', `/api/auth/email-templates/${type}/preview`, {
        body: draft,
        signal,
      }),
    placeholderData: (previous) => previous,
    staleTime: Infinity,
    retry: false,
  });
}

export function useSaveTemplate() {
  return useApiMutation({
    mutationFn: ({
      type,
      body,
    }: {
      type: string;
      body: z.input<typeof updateEmailTemplateRequestSchema>;
    }) => api.put<EmailTemplate>(`/api/auth/email-templates/${type}`, body),
    progress: 'Saving the template…',
    success: 'Template saved',
    invalidate: [queryKeys.auth.templates()],
  });
}

export function useResetTemplate() {
  return useApiMutation({
    mutationFn: (type: string) => api.delete<EmailTemplate>(`/api/auth/email-templates/${type}`),
    progress: 'Restoring the default template…',
    success: 'The default template is back',
    invalidate: [queryKeys.auth.templates()],
  });
}
