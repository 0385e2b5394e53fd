/**
 * Stand-ins for the built-in OAuth providers' authorize, token and profile endpoints, served
 * under `<base>/<provider>/<the real path>` (Kiln's OAUTH_TEST_BASE_URL). The authorize step
 * consents at once; the token endpoint checks the client's credentials, the redirect URI and the
 * PKCE verifier; the profile endpoints answer in each provider's own shape.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Grant {
  provider: string;
  clientId: string;
  redirectUri: string;
  challenge: string | null;
  scope: string;
}

export const PROFILES: Record<string, (token: string) => { path: RegExp; body: unknown }[]> = {
  google: () => [
    {
      path: /^\/v1\/userinfo$/,
      body: {
        sub: 'g-1',
        email: 'gina@gmail.test',
        email_verified: true,
        name: 'Gina G',
        picture: 'https://img.test/g.png',
      },
    },
  ],
  github: () => [
    {
      path: /^\/user$/,
      body: {
        id: 42,
        login: 'octo',
        name: 'Octo Cat',
        email: null,
        avatar_url: 'https://img.test/o.png',
      },
    },
    {
      path: /^\/user\/emails$/,
      body: [
        { email: 'old@gh.test', primary: false, verified: false },
        { email: 'octo@gh.test', primary: true, verified: true },
      ],
    },
  ],
  microsoft: () => [
    { path: /^\/oidc\/userinfo$/, body: { sub: 'ms-1', email: 'mia@outlook.test', name: 'Mia M' } },
  ],
  discord: () => [
    {
      path: /^\/api\/users\/@me$/,
      body: {
        id: '80351110224678912',
        username: 'nelly',
        global_name: 'Nelly',
        email: 'nelly@discord.test',
        verified: true,
        avatar: '8342729096ea3675442027381ff50dfe',
      },
    },
  ],
  linkedin: () => [
    {
      path: /^\/v2\/userinfo$/,
      body: {
        sub: 'li-1',
        email: 'lin@linkedin.test',
        email_verified: true,
        name: 'Lin K',
        picture: 'https://img.test/l.png',
      },
    },
  ],
  x: () => [
    {
      path: /^\/2\/users\/me$/,
      body: {
        data: {
          id: '2244994945',
          name: 'Xavier',
          username: 'xav',
          profile_image_url: 'https://img.test/x.png',
          confirmed_email: 'xav@x.test',
        },
      },
    },
  ],
  facebook: () => [
    {
      path: /^\/v21\.0\/me$/,
      body: {
        id: 'fb-1',
        name: 'Fay B',
        email: 'fay@fb.test',
        picture: { data: { url: 'https://img.test/f.png' } },
      },
    },
  ],
  apple: () => [],
};

const AUTHORIZE =
  /(\/o\/oauth2\/v2\/auth|\/login\/oauth\/authorize|\/oauth2\/v2\.0\/authorize|\/oauth2\/authorize|\/oauth\/v2\/authorization|\/i\/oauth2\/authorize|\/auth\/authorize|\/dialog\/oauth)$/;
const TOKEN =
  /(\/token|\/login\/oauth\/access_token|\/oauth\/v2\/accessToken|\/oauth\/access_token)$/;

export class FakeOAuthProviders {
  url = '';
  readonly grants = new Map<string, Grant>();
  readonly tokenRequests: { provider: string; form: Record<string, string>; basic?: string }[] = [];
  /** Per provider and path: a different profile body (another account at the provider). */
  readonly overrides = new Map<string, unknown>();
  private readonly tokens = new Map<string, string>();
  private readonly server = http.createServer((req, res) => void this.handle(req, res));

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private json(res: http.ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    let raw = '';
    for await (const c of req) raw += c;
    const url = new URL(req.url!, this.url);
    const [, provider, ...rest] = url.pathname.split('/');
    const path = `/${rest.join('/')}`;
    if (!provider || !(provider in PROFILES)) return this.json(res, 404, { error: 'no provider' });

    if (req.method === 'GET' && AUTHORIZE.test(path)) {
      const q = url.searchParams;
      const code = `code-${provider}-${crypto.randomBytes(6).toString('hex')}`;
      this.grants.set(code, {
        provider,
        clientId: q.get('client_id') ?? '',
        redirectUri: q.get('redirect_uri') ?? '',
        challenge: q.get('code_challenge'),
        scope: q.get('scope') ?? '',
      });
      const back = new URL(q.get('redirect_uri')!);
      if (q.get('response_mode') === 'form_post') {
        // Apple posts the answer (and, the first time, the user's name) to the callback.
        const user = JSON.stringify({
          name: { firstName: 'Ada', lastName: 'Apple' },
          email: 'ada@icloud.test',
        });
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(
          `<form method="post" action="${back}"><input type="hidden" name="code" value="${code}"><input type="hidden" name="state" value="${q.get('state')}"><input type="hidden" name="user" value='${user}'></form>`,
        );
        return;
      }
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state') ?? '');
      res.writeHead(302, { location: back.toString() }).end();
      return;
    }

    if (req.method === 'POST' && TOKEN.test(path)) {
      const form = Object.fromEntries(new URLSearchParams(raw));
      const basic = req.headers.authorization?.startsWith('Basic ')
        ? Buffer.from(req.headers.authorization.slice(6), 'base64').toString()
        : undefined;
      this.tokenRequests.push({ provider, form, basic });
      const grant = this.grants.get(form.code ?? '');
      this.grants.delete(form.code ?? '');
      const clientId = basic ? decodeURIComponent(basic.split(':')[0]!) : form.client_id;
      const secret = basic ? decodeURIComponent(basic.split(':')[1] ?? '') : form.client_secret;
      if (!grant || grant.provider !== provider)
        return this.json(res, 400, { error: 'invalid_grant' });
      if (clientId !== grant.clientId || secret !== `${provider}-secret`)
        return this.json(res, 401, { error: 'invalid_client' });
      if (form.redirect_uri !== grant.redirectUri)
        return this.json(res, 400, {
          error: 'invalid_grant',
          error_description: 'redirect_uri mismatch',
        });
      if (grant.challenge) {
        const s256 = crypto
          .createHash('sha256')
          .update(form.code_verifier ?? '')
          .digest('base64url');
        if (s256 !== grant.challenge)
          return this.json(res, 400, {
            error: 'invalid_grant',
            error_description: 'PKCE verification failed',
          });
      }
      const token = `at-${crypto.randomBytes(8).toString('hex')}`;
      this.tokens.set(token, provider);
      const idToken =
        provider === 'apple'
          ? [
              Buffer.from(JSON.stringify({ alg: 'RS256', kid: 'x' })).toString('base64url'),
              Buffer.from(
                JSON.stringify({
                  iss: 'https://appleid.apple.com',
                  sub: 'apple-001',
                  email: 'ada@icloud.test',
                  email_verified: 'true',
                }),
              ).toString('base64url'),
              'sig',
            ].join('.')
          : undefined;
      return this.json(res, 200, {
        access_token: token,
        token_type: 'bearer',
        ...(idToken ? { id_token: idToken } : {}),
      });
    }

    // Profile endpoints: Bearer token (Facebook: access_token in the query).
    const token =
      req.headers.authorization?.replace(/^Bearer /, '') ??
      url.searchParams.get('access_token') ??
      '';
    if (this.tokens.get(token) !== provider) return this.json(res, 401, { error: 'invalid_token' });
    const found = PROFILES[provider]!(token).find((p) => p.path.test(path));
    if (!found) return this.json(res, 404, { error: `no route ${path}` });
    this.json(res, 200, this.overrides.get(`${provider}${path}`) ?? found.body);
  }
}
