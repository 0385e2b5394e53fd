import http from 'node:http';
import https from 'node:https';
import type { Request, Response } from 'express';
import { z } from 'zod';
import {
  createFunctionRequestSchema,
  edgeFunctionSchema,
  functionChangedResponseSchema,
  functionDeletedResponseSchema,
  functionDeploymentResponseSchema,
  functionSlugParamsSchema,
  listFunctionsResponseSchema,
  updateFunctionRequestSchema,
} from '@kiln/shared-schemas';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { route, type RouteGroup } from '../core/route.js';
import type { SecretsService } from '../secrets/service.js';
import { FunctionLoadError, type FunctionsProvider, type Upstream } from './providers/provider.js';
import {
  functionJson,
  normalizeCode,
  notFound,
  slugFromName,
  validateSlug,
  type FunctionsService,
} from './service.js';

export interface FunctionsDeps {
  functions: FunctionsService;
  secrets: SecretsService;
  /** Where functions run: chosen once, in app.ts. */
  provider: FunctionsProvider;
  functionLogger: Logger;
  timeoutMs: number;
}

// Deno names the module loaded from a data: URL by the whole URL (the code in base64), coloured
// on a terminal; a position follows it as `:line:column`.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
const MODULE_URL = /data:application\/typescript;base64,[A-Za-z0-9+/=]*/g;
const POSITION = /data:application\/typescript;base64,[A-Za-z0-9+/=]*:(\d+):(\d+)/;

/**
 * Deno's diagnostics as the API answers them: the module named `<slug>.ts` instead of its data:
 * URL, no terminal colours, and the 1-based `line` and `column` of the failing spot in the code
 * when Deno gave one (a syntax error, or an error thrown while the module ran).
 */
function readableDiagnostics(
  slug: string,
  details: FunctionLoadError['details'],
): FunctionLoadError['details'] & { line?: number; column?: number } {
  const plain = (text: string) => text.replace(ANSI, '');
  const named = (text: string) => text.replace(MODULE_URL, `${slug}.ts`);
  const message = plain(details.message);
  const stack = details.stack === undefined ? undefined : plain(details.stack);
  const at = POSITION.exec(`${message}\n${stack ?? ''}`);
  return {
    ...details,
    message: named(message),
    ...(stack === undefined ? {} : { stack: named(stack) }),
    ...(at ? { line: Number(at[1]), column: Number(at[2]) } : {}),
  };
}

/** Load the code with the current secrets: a 400 with Deno's diagnostics if it does not. */
async function checkCode(
  deps: FunctionsDeps,
  slug: string,
  code: string,
  apiKeyAccess: boolean,
): Promise<void> {
  try {
    await deps.provider.check(
      slug,
      normalizeCode(code),
      await deps.secrets.environment({ apiKey: apiKeyAccess }),
    );
  } catch (err) {
    if (err instanceof FunctionLoadError) {
      const diagnostics = readableDiagnostics(slug, err.details);
      throw new AppError(
        400,
        'FUNCTION_INVALID_CODE',
        diagnostics.message,
        'The default export must be `async (req: Request) => Response`; npm:/jsr: imports need the registries to be reachable',
        { diagnostics },
      );
    }
    throw err;
  }
}

/** Admin API for edge functions, mounted at /api/functions. */
export function functionsAdminRoutes(deps: FunctionsDeps): RouteGroup {
  const { functions } = deps;
  const { provider } = deps;
  const codeErrors = { 400: ['FUNCTION_INVALID_CODE'] } as const;
  return {
    tag: 'functions',
    access: 'admin',
    routes: [
      route({
        method: 'get',
        path: '/',
        summary: 'List functions (without their code) and the runtime in use',
        responses: { 200: listFunctionsResponseSchema },
        handler: async () => ({
          functions: (await functions.list()).map((f) => functionJson(f, false)),
          // The Deno binary is checked when Kiln starts (it does not start without it), and a
          // Subhosting runtime is configured: whichever is in use can run functions.
          runtime: { provider: provider.kind, status: 'running' as const },
        }),
      }),
      route({
        method: 'get',
        path: '/:slug',
        summary: 'A function with its code',
        params: functionSlugParamsSchema,
        responses: { 200: edgeFunctionSchema },
        errors: { 404: ['FUNCTION_NOT_FOUND'] },
        handler: async ({ params }) => functionJson(await functions.get(params.slug), true),
      }),
      route({
        method: 'post',
        path: '/',
        summary: 'Create a function (its code is loaded first: 400 with diagnostics if it fails)',
        body: createFunctionRequestSchema,
        responses: { 201: { description: 'Created', schema: functionChangedResponseSchema } },
        errors: { 400: ['FUNCTION_INVALID_SLUG', ...codeErrors[400]], 409: ['FUNCTION_EXISTS'] },
        handler: async ({ body }) => {
          const slug = body.slug ?? slugFromName(body.name);
          validateSlug(slug);
          await checkCode(deps, slug, body.code, body.apiKeyAccess);
          await functions.create({ ...body, slug });
          await provider.deploy(slug);
          return {
            success: true as const,
            function: functionJson(await functions.get(slug), true),
          };
        },
      }),
      route({
        method: 'put',
        path: '/:slug',
        summary: 'Change a function (a new version is deployed when its code or settings change)',
        params: functionSlugParamsSchema,
        body: updateFunctionRequestSchema,
        responses: { 200: functionChangedResponseSchema },
        errors: { ...codeErrors, 404: ['FUNCTION_NOT_FOUND'] },
        handler: async ({ params: { slug }, body }) => {
          const before = await functions.get(slug); // 404 before spending a Deno start on the check
          if (body.code !== undefined)
            await checkCode(deps, slug, body.code, body.apiKeyAccess ?? before.api_key_access);
          const row = await functions.update(slug, body);
          if (row.version !== before.version) await provider.deploy(slug);
          return {
            success: true as const,
            function: functionJson(await functions.get(slug), true),
          };
        },
      }),
      route({
        method: 'get',
        path: '/:slug/deployment',
        summary: 'The function’s deployment and its build logs (Deno Subhosting)',
        params: functionSlugParamsSchema,
        responses: { 200: functionDeploymentResponseSchema },
        errors: { 404: ['FUNCTION_NOT_FOUND'] },
        handler: async ({ params }) => {
          const row = await functions.get(params.slug);
          return { provider: provider.kind, ...(await provider.deployment(row)) };
        },
      }),
      route({
        method: 'post',
        path: '/:slug/deploy',
        summary: 'Deploy the function’s current version again',
        params: functionSlugParamsSchema,
        responses: { 200: functionChangedResponseSchema },
        errors: { 404: ['FUNCTION_NOT_FOUND'] },
        handler: async ({ params: { slug } }) => {
          await functions.get(slug);
          await provider.deploy(slug);
          return {
            success: true as const,
            function: functionJson(await functions.get(slug), false),
          };
        },
      }),
      route({
        method: 'delete',
        path: '/:slug',
        summary: 'Delete a function (and its deployment)',
        params: functionSlugParamsSchema,
        responses: { 200: functionDeletedResponseSchema },
        errors: { 404: ['FUNCTION_NOT_FOUND'] },
        handler: async ({ params: { slug } }) => {
          await provider.removed(await functions.delete(slug));
          return { success: true as const, message: `Function ${slug} deleted` };
        },
      }),
    ],
  };
}

// Headers that describe one hop, not the message.
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

/**
 * Functions answer on Kiln's own origin, so the browser sends them every cookie of that origin.
 * Kiln's cookies (and the SDK's) are all named insforge_… or kiln_… (auth/routes.ts: the refresh
 * and CSRF cookies): none of them reaches a function, and a function cannot set one. A function
 * acts as its caller through the caller's Authorization header, which it does receive.
 */
export const KILN_COOKIE = /^(?:__(?:Host|Secure)-)?(?:insforge|kiln)[_-]/i;

/**
 * What a function's answer is sandboxed with unless it sends its own Content-Security-Policy:
 * JSON, text and plain HTML (images, styles, fonts, media, forms, links) work; no script runs,
 * and the page is an opaque origin, so it cannot read or act with anything of Kiln's origin.
 */
export const FUNCTION_CSP = [
  'sandbox allow-forms allow-downloads allow-popups allow-popups-to-escape-sandbox',
  "default-src 'none'",
  'img-src * data: blob:',
  'media-src * data: blob:',
  "style-src * 'unsafe-inline'",
  'font-src * data:',
  'form-action *',
  "base-uri 'none'",
].join('; ');

function withoutKilnCookies(cookie: string): string | undefined {
  const kept = cookie
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c && !KILN_COOKIE.test(c.split('=', 1)[0]!.trim()));
  return kept.length ? kept.join('; ') : undefined;
}

function forwardHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP.has(name) || name.startsWith('x-kiln-')) continue;
    if (name === 'cookie') {
      const kept = withoutKilnCookies(Array.isArray(value) ? value.join('; ') : value);
      if (kept) out.cookie = kept;
      continue;
    }
    out[name] = value;
  }
  return out;
}

/**
 * Whether a function may set this cookie: one with a name, not Kiln's. A nameless cookie
 * (`=insforge_refresh_token=x`, or no `=` at all) is stored by browsers with an empty name and
 * sent back as its bare value, `insforge_refresh_token=x`, which reads as Kiln's cookie.
 */
function functionMaySet(setCookie: string): boolean {
  const pair = setCookie.split(';', 1)[0]!;
  const eq = pair.indexOf('=');
  const name = eq < 0 ? '' : pair.slice(0, eq).trim();
  return name !== '' && !KILN_COOKIE.test(name);
}

/** The function's answer headers as Kiln sends them: no Kiln cookie set, sandboxed by default. */
function answerHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP.has(name)) continue;
    if (name === 'set-cookie') {
      const kept = (Array.isArray(value) ? value : [value]).filter(functionMaySet);
      if (kept.length) out[name] = kept;
      continue;
    }
    out[name] = value;
  }
  if (!String(headers['content-security-policy'] ?? '').trim())
    out['content-security-policy'] = FUNCTION_CSP;
  return out;
}

function sendError(res: Response, status: number, error: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.status(status).json({ error, message, statusCode: status });
}

/** Stream the request to the function and its answer back, within the time limit. */
function relay(
  req: Request,
  res: Response,
  slug: string,
  timeoutMs: number,
  target: Upstream,
  headers: http.OutgoingHttpHeaders,
): Promise<number> {
  return new Promise<number>((resolve) => {
    let settled = false;
    const done = (status: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(status);
    };
    const client = target.url.protocol === 'https:' ? https : http;
    const upstream = client.request(target.url, {
      method: req.method,
      headers: { ...headers, ...target.headers },
      agent: target.agent,
    });
    const timer = setTimeout(() => {
      // A function past its time may be spinning forever: the local runtime stops its process.
      upstream.destroy();
      target.onTimeout?.();
      sendError(
        res,
        504,
        'FUNCTION_TIMEOUT',
        `Function "${slug}" did not finish within ${timeoutMs} ms`,
      );
      done(504);
    }, timeoutMs);
    upstream.on('response', (answer) => {
      res.status(answer.statusCode ?? 502);
      for (const [name, value] of Object.entries(answerHeaders(answer.headers))) {
        if (value !== undefined) res.setHeader(name, value);
      }
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    });
    upstream.on('error', () => {
      if (settled) return;
      // What the process printed stays in the function logs (admins): it can hold anything the
      // function logged, other callers' data and secrets included.
      sendError(
        res,
        502,
        'FUNCTION_CRASHED',
        `Function "${slug}" failed before it answered; its error output is in the function logs`,
      );
      done(502);
    });
    res.on('finish', () => done(res.statusCode));
    // The caller went away before the answer was complete: stop the work done on its behalf.
    res.on('close', () => {
      if (res.writableFinished) return;
      upstream.destroy();
      done(499);
    });
    req.pipe(upstream);
  });
}

/**
 * `ANY /functions/:slug[/...]`: method, path suffix, query, headers and body go to the function
 * as a web Request; its status, headers and streamed body come back. Mounted before any body
 * parser, so bodies stream through untouched.
 */
async function invoke(deps: FunctionsDeps, req: Request, res: Response): Promise<void> {
  const slug = req.params.slug as string;
  const started = Date.now();
  const target = await deps.functions.target(slug);
  if (!target || target.status !== 'active') throw notFound(slug);
  // Path and query only: the provider decides where they go.
  const asked = new URL(req.originalUrl, 'http://kiln.invalid');
  const upstream = await deps.provider.upstream(slug, target, asked);
  let status: number;
  try {
    status = await relay(req, res, slug, deps.timeoutMs, upstream, forwardHeaders(req.headers));
  } finally {
    upstream.release?.();
  }
  deps.functionLogger.info('invocation', {
    source: 'function.logs',
    slug,
    method: req.method,
    status,
    durationMs: Date.now() - started,
  });
}

/**
 * Function invocation, mounted at /functions before credentials are resolved and before any
 * body parser (app.ts): the function sees the caller's headers and body as sent and decides for
 * itself what they mean. Its answer, whatever it is, is relayed; Kiln's own errors are the envelope.
 */
export function functionsInvokeRoutes(deps: FunctionsDeps): RouteGroup {
  return {
    tag: 'functions',
    routes: [
      route({
        method: 'all',
        path: '/:slug{/*rest}',
        access: 'anyone',
        summary: 'Invoke a function (any method; the path after the slug and the query go along)',
        description:
          'The request (method, path suffix, query, headers without Kiln’s cookies, body) is ' +
          'streamed to the function as a web Request; its status, headers and body are streamed ' +
          'back. A function that sends no Content-Security-Policy is answered sandboxed.',
        parse: false,
        bodyType: 'any',
        body: z.string().optional().describe('Any body, streamed to the function as it arrives'),
        relays: true,
        responses: {
          200: {
            description: 'Whatever the function answers: any status, headers and body',
            content: 'any',
          },
        },
        errors: {
          404: ['FUNCTION_NOT_FOUND'],
          502: ['FUNCTION_CRASHED', 'FUNCTION_LOAD_FAILED', 'FUNCTION_START_FAILED'],
          503: ['FUNCTION_NOT_DEPLOYED'],
          504: ['FUNCTION_TIMEOUT'],
        },
        handler: ({ req, res }) => invoke(deps, req, res),
      }),
    ],
  };
}
