/**
 * OAuth with PKCE: built-in providers (google, github, microsoft, discord, linkedin, x, apple,
 * facebook) at /oauth/:provider and custom OpenID Connect providers at /oauth/custom/:key, the
 * same routes for both; the exchange of the app's code; sign-in with a provider's ID token.
 */
import { urlencoded, type Request } from 'express';
import { z } from 'zod';
import {
  clientTypeQuerySchema,
  createOAuthProviderConfigRequestSchema,
  customProviderParamsSchema,
  idTokenRequestSchema,
  createCustomOAuthConfigRequestSchema,
  customOAuthConfigSchema,
  listCustomOAuthConfigsResponseSchema,
  listOAuthProviderConfigsResponseSchema,
  oauthExchangeRequestSchema,
  oauthProviderConfigRequestSchema,
  oauthProviderConfigSchema,
  oauthStartQuerySchema,
  oauthStartResponseSchema,
  signInResponseSchema,
  successMessageSchema,
} from '@kiln/shared-schemas';
import { route, type DeclaredRoute } from '../core/route.js';
import { nameUuid } from '../email/ids.js';
import type { providerJson } from './oauth.js';
import { BUILT_IN_PROVIDERS } from './providers/index.js';
import { RATE_LIMITED, anonymousUserOf, type AuthHttp } from './http.js';

const SIGN_IN_ERRORS = {
  400: ['AUTH_OAUTH_NO_EMAIL'],
  403: ['AUTH_NEED_VERIFICATION', 'AUTH_SIGNUP_DISABLED'],
  409: ['AUTH_OAUTH_EMAIL_UNVERIFIED', 'AUTH_IDENTITY_IN_USE', 'AUTH_EMAIL_EXISTS'],
} as const;

/** A stable uuid for a provider configuration (Kiln keys them by name; InsForge's clients read an id). */
const configId = (key: string) => nameUuid(`oauth-provider:${key}`);

/** A custom provider's configuration as InsForge's clients read it, Kiln's fields beside. */
const customConfig = (c: ReturnType<typeof providerJson>) => ({
  id: configId(c.key),
  discoveryEndpoint: c.discoveryUrl ?? '',
  ...c,
  // InsForge's clients show a name: one never given is the key.
  name: c.name ?? c.key,
});

export function oauthRoutes(http: AuthHttp): DeclaredRoute[] {
  const { oauth, idTokens } = http.options;
  const { auth, limits } = http;
  const builtInParams = z.object({
    provider: z.enum(Object.keys(BUILT_IN_PROVIDERS) as [string, ...string[]], {
      error: `one of ${Object.keys(BUILT_IN_PROVIDERS).join(', ')}`,
    }),
  });

  const providerRoutes = (
    base: string,
    params: z.ZodType<Record<string, string>>,
    keyOf: (params: Record<string, string>) => string,
    custom: boolean,
  ): DeclaredRoute[] => {
    const what = custom ? 'a custom OpenID Connect provider' : 'a built-in OAuth provider';
    const callback = async (req: Request, key: string) => {
      const url = new URL(req.originalUrl, 'http://callback');
      // form_post (Apple) sends the answer in the body.
      if (req.method === 'POST' && req.body && typeof req.body === 'object') {
        for (const [k, v] of Object.entries(req.body as Record<string, unknown>))
          if (typeof v === 'string') url.searchParams.set(k, v);
      }
      return oauth.callback(key, url, custom);
    };
    const callbackDecl = {
      path: `${base}/callback`,
      access: 'anyone' as const,
      params,
      description:
        "The provider's redirect after sign-in: answers a redirect to the app's redirect_uri " +
        'with a code for POST /api/auth/oauth/exchange (or an error in the query).',
      responses: {
        302: {
          description: "Back to the app's redirect_uri",
          headers: { Location: 'The app URL with `code`, or `error`' },
        },
      },
      errors: {
        400: ['AUTH_OAUTH_INVALID_STATE', 'AUTH_OAUTH_FAILED'],
        404: ['AUTH_OAUTH_PROVIDER_NOT_FOUND'],
        502: [
          'AUTH_OAUTH_PROVIDER_UNAVAILABLE',
          'AUTH_OAUTH_TOKEN_EXCHANGE_FAILED',
          'AUTH_OAUTH_PROFILE_FAILED',
        ],
      },
    };
    return [
      route({
        method: 'get',
        path: `${base}/config`,
        access: 'admin',
        summary: `The configuration of ${what}`,
        params,
        responses: { 200: oauthProviderConfigSchema },
        errors: { 404: ['AUTH_OAUTH_PROVIDER_NOT_FOUND'] },
        handler: ({ params: p }) => oauth.get(keyOf(p), custom),
      }),
      route({
        method: 'put',
        path: `${base}/config`,
        access: 'admin',
        summary: `Configure ${what}`,
        params,
        body: oauthProviderConfigRequestSchema,
        responses: { 200: oauthProviderConfigSchema },
        errors: { 404: ['AUTH_OAUTH_PROVIDER_NOT_FOUND'], 409: ['AUTH_OAUTH_KEY_TAKEN'] },
        handler: ({ params: p, body }) => oauth.put(keyOf(p), custom, body),
      }),
      route({
        method: 'delete',
        path: `${base}/config`,
        access: 'admin',
        summary: `Remove the configuration of ${what}`,
        params,
        responses: { 200: successMessageSchema },
        errors: { 404: ['AUTH_OAUTH_PROVIDER_NOT_FOUND'] },
        handler: async ({ params: p }) => {
          await oauth.remove(keyOf(p), custom);
          return { success: true as const, message: 'Provider configuration removed' };
        },
      }),
      route({
        method: 'get',
        path: base,
        access: 'anyone',
        summary: `Start signing in with ${what} (PKCE)`,
        description:
          'Answers the URL to send the browser to. A caller signed in anonymously is upgraded ' +
          'by the sign-in.',
        params,
        query: oauthStartQuerySchema,
        before: [limits.signIn],
        responses: { 200: oauthStartResponseSchema },
        errors: {
          ...RATE_LIMITED,
          400: ['AUTH_REDIRECT_NOT_ALLOWED', 'AUTH_NOT_ANONYMOUS'],
          403: ['AUTH_SIGNUP_DISABLED'],
          404: ['AUTH_OAUTH_PROVIDER_NOT_FOUND'],
          409: ['AUTH_IDENTITY_IN_USE', 'AUTH_EMAIL_EXISTS'],
          502: ['AUTH_OAUTH_PROVIDER_UNAVAILABLE'],
        },
        handler: async ({ params: p, query, req }) => ({
          authUrl: await oauth.start(
            keyOf(p),
            query.redirect_uri,
            query.code_challenge,
            custom,
            anonymousUserOf(req),
          ),
        }),
      }),
      route({
        ...callbackDecl,
        method: 'get',
        summary: `The callback of ${what}`,
        handler: async ({ params: p, req, res }) => {
          res.redirect(302, await callback(req, keyOf(p)));
        },
      }),
      route({
        ...callbackDecl,
        method: 'post',
        summary: `The callback of ${what} (response_mode=form_post)`,
        before: [urlencoded({ extended: false, limit: '64kb' })],
        handler: async ({ params: p, req, res }) => {
          res.redirect(302, await callback(req, keyOf(p)));
        },
      }),
    ];
  };

  return [
    route({
      method: 'get',
      path: '/oauth/configs',
      access: 'admin',
      summary: 'The OAuth provider configurations (built-in and custom)',
      responses: { 200: listOAuthProviderConfigsResponseSchema },
      handler: async () => {
        const data = (await oauth.list())
          .filter((c) => !c.custom)
          .map((c) => ({ id: configId(c.key), provider: c.key, useSharedKey: false, ...c }));
        return { data, count: data.length };
      },
    }),
    // Before /oauth/custom/:key, whose start would take "configs" for a provider key.
    route({
      method: 'get',
      path: '/oauth/custom/configs',
      access: 'admin',
      summary: 'The custom OpenID Connect provider configurations',
      responses: { 200: listCustomOAuthConfigsResponseSchema },
      handler: async () => {
        const data = (await oauth.list()).filter((c) => c.custom).map(customConfig);
        return { data, count: data.length };
      },
    }),
    route({
      method: 'post',
      path: '/oauth/custom/configs',
      access: 'admin',
      summary: "Configure a custom OpenID Connect provider named in the body (InsForge's create)",
      description:
        'The same as `PUT /api/auth/oauth/custom/{key}/config`: an existing configuration of ' +
        'the key is replaced.',
      body: createCustomOAuthConfigRequestSchema,
      responses: { 200: customOAuthConfigSchema },
      errors: { 409: ['AUTH_OAUTH_KEY_TAKEN'] },
      handler: async ({ body: { key, discoveryEndpoint, ...config } }) =>
        customConfig(
          await oauth.put(key, true, {
            ...config,
            discoveryUrl: config.discoveryUrl ?? discoveryEndpoint,
          }),
        ),
    }),
    route({
      method: 'post',
      path: '/oauth/configs',
      access: 'admin',
      summary: "Configure a built-in OAuth provider named in the body (InsForge's create)",
      description:
        'The same as `PUT /api/auth/oauth/{provider}/config`: an existing configuration of ' +
        'the provider is replaced.',
      body: createOAuthProviderConfigRequestSchema.extend(builtInParams.shape),
      responses: { 200: oauthProviderConfigSchema },
      errors: { 409: ['AUTH_OAUTH_KEY_TAKEN'] },
      handler: ({ body: { provider, ...config } }) => oauth.put(provider, false, config),
    }),
    // Custom first: /oauth/custom/:key is not a built-in provider's path.
    ...providerRoutes('/oauth/custom/:key', customProviderParamsSchema, (p) => p.key!, true),
    ...providerRoutes('/oauth/:provider', builtInParams, (p) => p.provider!, false),
    route({
      method: 'post',
      path: '/oauth/exchange',
      access: 'anyone',
      summary: "Exchange the app's OAuth code (and PKCE verifier) for a session",
      query: clientTypeQuerySchema,
      body: oauthExchangeRequestSchema,
      before: [limits.verify],
      responses: { 200: signInResponseSchema },
      errors: { ...RATE_LIMITED, ...SIGN_IN_ERRORS, 400: ['AUTH_OAUTH_INVALID_CODE'] },
      handler: async ({ body, req, res }) => {
        const { user, aal2 } = await oauth.exchange(body.code, body.code_verifier);
        // The hosted pages already checked the second factor (a code they issued at aal2).
        if (aal2)
          return http.session(req, res, await auth.startSession(user, http.context(req), 'aal2'));
        return http.finishSignIn(req, res, user);
      },
    }),
    route({
      method: 'post',
      path: '/id-token',
      access: 'anyone',
      summary: "Sign in with a provider's ID token (Google, Apple: native sign-in)",
      query: clientTypeQuerySchema,
      body: idTokenRequestSchema,
      before: [limits.signIn],
      responses: { 200: signInResponseSchema },
      errors: {
        ...RATE_LIMITED,
        ...SIGN_IN_ERRORS,
        400: ['AUTH_PROVIDER_NOT_CONFIGURED', 'AUTH_OAUTH_NO_EMAIL'],
        401: ['AUTH_INVALID_ID_TOKEN'],
      },
      handler: async ({ body, req, res }) => {
        const identity = await idTokens.verify(body.provider, body.token, body.nonce);
        return http.finishSignIn(req, res, await auth.signInWithIdentity(identity));
      },
    }),
  ];
}
