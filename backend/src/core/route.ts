/**
 * Route declarations: every HTTP endpoint is declared once, as data, with `route()`: method,
 * path, who may call it, its parameters, query, body and its responses per status (error codes
 * included). One declaration drives the request parsing (zod schemas from
 * `@kiln/shared-schemas`; a failure is the contract's 400 `INVALID_INPUT`), the handler's types,
 * the OpenAPI document (`docs/openapi.ts`) and, in the test harness, a check of every response
 * against the schema declared for its status.
 *
 * An area's routes file returns a `RouteGroup` (a tag, a default access and a list of
 * `route(...)`s); `app.ts` mounts it with `routes.mount(app, '/api/<area>', group)`. The
 * registry (`RouteRegistry`) belongs to the app built by `createApp`: there is no module-level
 * state, so tests run as many apps side by side as they like.
 *
 * Cost on the request path: the guard, one `parse` per declared schema (none when the
 * declaration has no schema, or says `parse: false`), and the handler. Response checks are off
 * unless `createApp` is given `checkResponses` (only the test harness does; see below).
 *
 * Converting an area (see secrets/routes.ts, logs/routes.ts, audit/routes.ts for examples):
 * 1. `shared-schemas/src/<area>.ts`: the request schemas (moved out of the routes file) and
 *    response schemas describing what the area answers today; export it from index.ts and
 *    rebuild (`pnpm build`).
 * 2. `<area>/routes.ts` returns a `RouteGroup`; each endpoint is one `route({...})` with its
 *    responses per status and the error codes it throws (`errors`). Handlers return the body;
 *    SQL belongs in the area's service.
 * 3. `app.ts`: `routes.mount(app, '/api/<area>', group)` where `app.use(...)` was.
 * 4. Delete the area's lines from `NOT_YET_DECLARED` (backend/test/routes.test.ts).
 * 5. Run the area's tests: a RESPONSE_CONTRACT_VIOLATION names the route, the status and the
 *    zod issue; fix the declaration to describe the answer, not the answer.
 */
import type {
  ErrorRequestHandler,
  Express,
  NextFunction,
  Request,
  RequestHandler,
  Response,
} from 'express';
import { Router } from 'express';
import { z } from 'zod';
import { errorEnvelopeSchema } from '@kiln/shared-schemas';
import type { Principal } from './db.js';
import { requireAdmin, requirePrincipal, requireUser } from './auth/principal.js';
import { createLane, skippingRefused, type Lane, type LaneRoute } from './lane.js';

/**
 * Who may call a route:
 * - `anyone`: no credential needed (a bad one is ignored);
 * - `anyKey`: any valid credential, the anon key included (`requirePrincipal`);
 * - `user`: a signed-in user, or an admin / the API key acting as one (`requireUser`);
 * - `admin`: an admin JWT or the API key (`requireAdmin`).
 */
export type Access = 'anyone' | 'anyKey' | 'user' | 'admin';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head';

/**
 * The methods an `all` declaration is documented (and registered) with; it answers every other
 * method too (OPTIONS, PROPFIND, …), exactly as `app.all` would.
 */
export const ALL_METHODS: readonly HttpMethod[] = ['get', 'post', 'put', 'patch', 'delete', 'head'];

/** Body encodings a request or response may use (the OpenAPI media type of each is below). */
export type MediaKind =
  'json' | 'multipart' | 'bytes' | 'sse' | 'markdown' | 'text' | 'html' | 'javascript' | 'any';

export const MEDIA_TYPES: Record<MediaKind, string> = {
  json: 'application/json',
  multipart: 'multipart/form-data',
  bytes: 'application/octet-stream',
  sse: 'text/event-stream',
  markdown: 'text/markdown',
  text: 'text/plain',
  html: 'text/html',
  javascript: 'text/javascript',
  /** Whatever the other side sends (a relayed answer: see `RouteDecl.relays`). */
  any: '*/*',
};

/** One declared response. A bare zod schema is short for `{description: 'OK', schema}` (JSON). */
export interface ResponseDecl {
  description: string;
  /** The JSON body, as it is on the wire (dates are strings). */
  schema?: z.ZodType;
  /**
   * Media types the body may come in: `json` when a schema is given, none otherwise (204, a
   * redirect). A route answering JSON or Markdown by negotiation lists both.
   */
  content?: MediaKind | readonly MediaKind[];
  /** Response headers worth documenting (name → description). */
  headers?: Record<string, string>;
}

export type ResponseMap = { readonly [status: number]: z.ZodType | ResponseDecl };

/** Error codes a route may answer, per status, beyond the ones every route may answer. */
export type ErrorMap = { readonly [status: number]: readonly string[] };

/** Parsed input handed to a handler. */
export interface RouteInput<P, Q, B, A extends Access> {
  params: P;
  query: Q;
  body: B;
  /** Guaranteed for every access but `anyone`. */
  principal: A extends 'anyone' ? Principal | undefined : Principal;
  req: Request;
  res: Response;
}

/**
 * The input handed to a handler, a class rather than an object literal with a getter: such a
 * literal is built per request in dictionary mode (measured at about 0.7 kB, and slow to read),
 * where instances of a class share one hidden class and the getter lives on the prototype.
 */
class HandlerInput {
  constructor(
    readonly params: unknown,
    private readonly queryParsed: boolean,
    private readonly parsedQuery: unknown,
    readonly body: unknown,
    readonly principal: Principal | undefined,
    readonly req: Request,
    readonly res: Response,
  ) {}

  /**
   * Read lazily when not parsed here: Express parses the query string on first access, and
   * handlers with their own grammar (records) never ask for it.
   */
  get query(): unknown {
    return this.queryParsed ? this.parsedQuery : this.req.query;
  }
}

const REPLY = Symbol('kiln.reply');

/** A body with a status other than the route's first declared 2xx (see `reply`). */
export interface Reply<S extends number = number, T = unknown> {
  readonly [REPLY]: true;
  readonly status: S;
  readonly body: T;
}

/** Answers `body` as JSON with `status` (which the declaration must list). */
export function reply<S extends number, T>(status: S, body: T): Reply<S, T> {
  return { [REPLY]: true, status, body };
}

function isReply(value: unknown): value is Reply {
  return typeof value === 'object' && value !== null && REPLY in value;
}

type JsonOf<T> = T extends z.ZodType
  ? z.input<T>
  : T extends { schema: infer S extends z.ZodType }
    ? z.input<S>
    : never;
type Bodies<R> = { [K in keyof R]: JsonOf<R[K]> }[keyof R];
type Replies<R> = { [K in keyof R & number]: Reply<K, JsonOf<R[K]>> }[keyof R & number];

/**
 * What a handler returns: a JSON body (sent with the first 2xx status declared), a `reply(status,
 * body)`, or nothing when it answered on `res` itself (streams, redirects, other media types).
 */
export type HandlerResult<R> = Bodies<R> | Replies<R> | void;

type Out<S, Fallback> = S extends z.ZodType ? z.output<S> : Fallback;

export interface RouteDecl<
  P extends z.ZodType | undefined,
  Q extends z.ZodType | undefined,
  B extends z.ZodType | undefined,
  R extends ResponseMap,
  A extends Access,
> {
  /**
   * `all`: every method (`app.all`), documented as each of `ALL_METHODS` (function invocation,
   * where the function decides what a method means).
   */
  method: HttpMethod | 'all';
  /** Express 5 path, relative to where the group is mounted (`/`, `/:key`, `/:slug{/*rest}`). */
  path: string;
  /** Defaults to the group's access. */
  access?: A;
  summary: string;
  description?: string;
  /** Path parameters (strings in; coerce in the schema when they are not). */
  params?: P;
  /** The query string (Express's extended parser: values are strings, arrays or objects). */
  query?: Q;
  /** The request body. Parsed here only when `bodyType` is `json` (the default). */
  body?: B;
  /**
   * How the body arrives. Only JSON is parsed by the helper; multipart and raw bytes are
   * streamed by the handler, and `body` (when given) documents their fields.
   */
  bodyType?: MediaKind;
  /**
   * `false`: the schemas document the route but are not applied (the handler reads `req`).
   * For hot paths with their own grammar (the PostgREST records paths).
   */
  parse?: boolean;
  /**
   * `false`: `access` is documented but enforced by the handler itself (the records paths
   * answer a missing credential with PostgREST's own 401 codes).
   */
  guard?: boolean;
  /**
   * `true`: the answer is another program's (an edge function's), relayed as it comes: any
   * status, headers and body. `responses` document it; in tests only the route's own JSON answers
   * (its errors, in the envelope, with their declared codes) are checked, not relayed statuses.
   */
  relays?: boolean;
  /** Middleware for this route only, before the handler (a body parser of its own, …). */
  before?: readonly RequestHandler[];
  /** Request headers worth documenting (name → description), e.g. PostgREST's `Prefer`. */
  requestHeaders?: Record<string, string>;
  responses: R;
  errors?: ErrorMap;
  /**
   * A further access rule that needs no input (a setting, the principal's kind): runs after the
   * guard and before parsing, so a caller who may not call the route learns that first. Throws
   * an AppError (declare its code in `errors`).
   */
  authorize?: (input: {
    principal: A extends 'anyone' ? Principal | undefined : Principal;
    req: Request;
  }) => void;
  handler: (
    input: RouteInput<Out<P, Record<string, string>>, Out<Q, Request['query']>, Out<B, unknown>, A>,
  ) => Promise<HandlerResult<R>> | HandlerResult<R>;
}

/** A declaration with its types erased, ready for a group's list. */
export interface DeclaredRoute {
  readonly decl: RouteDecl<
    z.ZodType | undefined,
    z.ZodType | undefined,
    z.ZodType | undefined,
    ResponseMap,
    Access
  >;
}

/** Declares one route. The generics only serve the handler's types; the result is plain data. */
export function route<
  R extends ResponseMap,
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
  A extends Access = Access,
>(decl: RouteDecl<P, Q, B, R, A>): DeclaredRoute {
  return { decl: decl as unknown as DeclaredRoute['decl'] };
}

/**
 * `route` with the access fixed, so handlers see `principal` typed for it: an area of admin
 * routes writes `const adminRoute = routeWith('admin')` and `adminRoute({...})`.
 */
export function routeWith<A extends Access>(access: A) {
  return <
    R extends ResponseMap,
    P extends z.ZodType | undefined = undefined,
    Q extends z.ZodType | undefined = undefined,
    B extends z.ZodType | undefined = undefined,
  >(
    decl: Omit<RouteDecl<P, Q, B, R, A>, 'access'>,
  ): DeclaredRoute => route<R, P, Q, B, A>({ ...decl, access } as RouteDecl<P, Q, B, R, A>);
}

/** An area's routes: mounted together under one base path. */
export interface RouteGroup {
  /** The OpenAPI tag (the area's name). */
  tag: string;
  /**
   * The access of routes that do not say; also enforced for every request under the base path
   * (an unknown path below an admin area answers 401/403, not 404, as before declarations).
   */
  access?: Access;
  /** Middleware run before the routes (e.g. a hook on successful writes). */
  use?: RequestHandler[];
  /** Error codes every route of the area may answer (e.g. its provider being unavailable). */
  errors?: ErrorMap;
  /**
   * Errors of this area are not the contract's envelope but this shape (named as an OpenAPI
   * component): the records paths answer PostgREST's `{code, message, details, hint}`.
   */
  errorShape?: { name: string; schema: z.ZodType };
  /** Error handler for the area's routes (runs before the app's own). */
  onError?: ErrorRequestHandler;
  /**
   * Answers the methods the area's paths do not declare (instead of falling through to 404):
   * the records paths answer PostgREST's 405.
   */
  otherMethods?: RequestHandler;
  routes: DeclaredRoute[];
}

/** A route as registered: where it is mounted, and its declaration. */
export interface RegisteredRoute {
  method: HttpMethod;
  /** The full Express path (`/api/secrets/:key`). */
  path: string;
  /** The same in OpenAPI's spelling (`/api/secrets/{key}`). */
  openApiPath: string;
  tag: string;
  access: Access;
  /** The group's error codes and the declaration's together. */
  errors: ErrorMap;
  /** Set when the area's errors have a shape of their own (RouteGroup.errorShape). */
  errorShape?: { name: string; schema: z.ZodType };
  decl: DeclaredRoute['decl'];
}

/** A response that does not match its declaration (test mode only). */
export interface ContractViolation {
  route: string;
  status: number;
  problem: string;
}

/**
 * Codes any route may answer whatever it declares: body parsing, the client hanging up, the
 * database being busy or away, and bugs.
 */
export const COMMON_ERRORS: ErrorMap = {
  400: ['INVALID_JSON', 'INVALID_INPUT', 'INVALID_REQUEST', 'REQUEST_ABORTED'],
  413: ['PAYLOAD_TOO_LARGE'],
  415: ['UNSUPPORTED_MEDIA_TYPE'],
  429: ['DATABASE_CLIENT_LIMIT'],
  500: ['INTERNAL_ERROR'],
  503: ['DATABASE_BUSY', 'DATABASE_UNAVAILABLE'],
};

/** The codes the guard of each access level may answer. */
export const ACCESS_ERRORS: Record<Access, ErrorMap> = {
  anyone: {},
  anyKey: { 401: ['AUTH_INVALID_CREDENTIALS', 'AUTH_UNAUTHORIZED', 'AUTH_INVALID_API_KEY'] },
  user: {
    401: ['AUTH_INVALID_CREDENTIALS', 'AUTH_UNAUTHORIZED', 'AUTH_INVALID_API_KEY'],
    // A trusted outside issuer's token: not a Kiln user (core/auth/principal.ts requireUser).
    403: ['AUTH_FORBIDDEN'],
  },
  admin: {
    401: ['AUTH_INVALID_CREDENTIALS', 'AUTH_UNAUTHORIZED', 'AUTH_INVALID_API_KEY'],
    403: ['AUTH_FORBIDDEN'],
  },
};

type Guard = (req: Request, res: Response, next: NextFunction) => void;
const GUARDS: Record<Access, Guard | undefined> = {
  anyone: undefined,
  anyKey: requirePrincipal,
  user: requireUser,
  admin: requireAdmin,
};
const noop = () => undefined;

/** Every error code a registered route may answer, per status (common, guard, declared). */
export function errorsOf(r: RegisteredRoute): Map<number, Set<string>> {
  const all = new Map<number, Set<string>>();
  for (const map of [COMMON_ERRORS, ACCESS_ERRORS[r.access], r.errors]) {
    for (const [status, codes] of Object.entries(map)) {
      const set = all.get(Number(status)) ?? new Set<string>();
      for (const code of codes) set.add(code);
      all.set(Number(status), set);
    }
  }
  return all;
}

/** `{description, schema, content}` of a declared response, whichever way it was written. */
export function responseDecl(value: z.ZodType | ResponseDecl): ResponseDecl {
  return value instanceof z.ZodType ? { description: 'OK', schema: value } : value;
}

export function mediaKinds(r: ResponseDecl): readonly MediaKind[] {
  if (r.content) return typeof r.content === 'string' ? [r.content] : r.content;
  return r.schema ? ['json'] : [];
}

/** `/api/x/:id{/*rest}` → `/api/x/{id}/{rest}` (optional parts documented as present). */
export function toOpenApiPath(expressPath: string): string {
  const p = expressPath
    .replace(/[{}]/g, '')
    .replace(/[:*]([A-Za-z_$][\w$]*)/g, '{$1}')
    .replace(/\/+/g, '/');
  return p.length > 1 ? p.replace(/\/$/, '') : p;
}

function mergeErrors(a: ErrorMap, b: ErrorMap): ErrorMap {
  const merged: Record<number, string[]> = {};
  for (const map of [a, b])
    for (const [status, codes] of Object.entries(map))
      merged[Number(status)] = [...new Set([...(merged[Number(status)] ?? []), ...codes])];
  return merged;
}

function joinPath(base: string, path: string): string {
  const joined = `${base.replace(/\/$/, '')}/${path.replace(/^\//, '')}`;
  return joined.length > 1 ? joined.replace(/\/$/, '') : '/';
}

/**
 * Middleware naming the route (or group) a request is counted under in the metrics
 * (`res.locals.routeLabel`, read by core/http.ts accessLog): the declared path, never the raw URL.
 */
/**
 * A group's or route's middleware as Express runs it: its next('route') / next('router') is
 * refused (core/lane.ts skippingRefused), as the lane refuses it, instead of passing the request
 * on to whatever else matches further on.
 */
function refuseSkipping(middleware: RequestHandler): RequestHandler {
  return (req, res, next) =>
    middleware(req, res, ((err?: unknown) =>
      next(err === 'route' || err === 'router' ? skippingRefused(err, req) : err)) as NextFunction);
}

function labelRequests(label: string): RequestHandler {
  return (_req, res, next) => {
    (res.locals as { routeLabel?: string }).routeLabel = label;
    next();
  };
}

function firstSuccessStatus(responses: ResponseMap): number {
  const statuses = Object.keys(responses)
    .map(Number)
    .filter((s) => s >= 200 && s < 300)
    .sort((a, b) => a - b);
  return statuses[0] ?? 200;
}

export interface RouteRegistryOptions {
  /**
   * Test mode: every response of a declared route is checked against its declaration. A JSON
   * body that does not match is replaced by a 500 `RESPONSE_CONTRACT_VIOLATION` carrying the
   * zod issues, and every violation is kept in `violations` (the harness fails the test file
   * when any is left). Never set in production: `server.ts` does not pass it.
   */
  checkResponses?: boolean;
}

/** The app's declared routes. Owned by the app `createApp` builds. */
export class RouteRegistry {
  private readonly registered: RegisteredRoute[] = [];
  /** Responses that broke their declaration (filled only with `checkResponses`). */
  readonly violations: ContractViolation[] = [];

  constructor(private readonly options: RouteRegistryOptions = {}) {}

  /** Every declared route, in registration order. */
  get routes(): readonly RegisteredRoute[] {
    return this.registered;
  }

  /** Mounts an area's routes on `app` at `base` and registers them. */
  mount(app: Express, base: string, group: RouteGroup): void {
    const router = this.router(base, group);
    app.use(base, router);
    this.mounts.push({ base, group, router });
  }

  /** Every mount, in order (what a lane checks it may shortcut). */
  private readonly mounts: Array<{ base: string; group: RouteGroup; router: Router }> = [];
  /** Each mounted group's routes as Express runs them (guard, use, before, handler). */
  private readonly stacks = new WeakMap<RouteGroup, LaneRoute[]>();

  /**
   * A lane (core/lane.ts) straight to a mounted group's routes, for `http.createServer`. `front`
   * is the app-level middleware Express runs before the group, in order. Checked against the
   * app's own stack when the lane is built: every layer before the group must be the next of
   * `front` or a mounted group that cannot answer the group's paths; anything else (middleware
   * added in between and not listed, an overlapping mount) refuses to build the lane, so the lane
   * and the app cannot drift apart.
   */
  lane(
    app: Express,
    group: RouteGroup,
    options: { front: readonly RequestHandler[]; finalError: ErrorRequestHandler },
  ): Lane {
    const target = this.mounts.find((m) => m.group === group);
    const routes = this.stacks.get(group);
    if (!target || !routes) throw new Error(`lane: group ${group.tag} is not mounted`);
    const base = target.base.toLowerCase();
    const mounted = new Map<unknown, { base: string; group: RouteGroup }>(
      this.mounts.map((m) => [m.router, m]),
    );
    const layers = (
      app as unknown as { router: { stack: Array<{ handle: unknown; name?: string }> } }
    ).router.stack;
    let next = 0;
    for (const layer of layers) {
      if (layer.handle === target.router) break;
      if (layer.handle === options.front[next]) {
        next++;
        continue;
      }
      const earlier = mounted.get(layer.handle);
      if (!earlier)
        throw new Error(
          `lane: middleware ${layer.name ?? '(anonymous)'} runs before ${target.base} but is not in front`,
        );
      const other = earlier.base.toLowerCase();
      const overlaps =
        other === '/'
          ? this.registered.some(
              (r) => r.tag === earlier.group.tag && r.path.toLowerCase().startsWith(base),
            ) || (earlier.group.use?.length ?? 0) > 0
          : base.startsWith(other) || other.startsWith(base);
      if (overlaps)
        throw new Error(`lane: ${earlier.base} (${earlier.group.tag}) is mounted before ${base}`);
    }
    if (next !== options.front.length)
      throw new Error(`lane: front lists middleware the app does not run before ${target.base}`);
    return createLane({
      app,
      front: options.front,
      routes,
      ...(group.onError ? { onError: group.onError } : {}),
      finalError: options.finalError,
    });
  }

  /** The router for a group (to be mounted at `base` by the caller), its routes registered. */
  router(base: string, group: RouteGroup): Router {
    const router = Router();
    // Requests reaching the group but no route of it (its guard refused them, an unknown path
    // below it) are counted under the group's base (core/metrics.ts); groups at `/` see every
    // request, so theirs stay unlabelled.
    const groupLabel = base === '/' ? undefined : labelRequests(joinPath(base, '*'));
    if (groupLabel) router.use(groupLabel);
    const groupGuard = group.access && GUARDS[group.access];
    if (groupGuard) router.use(groupGuard);
    for (const middleware of group.use ?? []) router.use(refuseSkipping(middleware));
    const groupStack: RequestHandler[] = [
      ...(groupLabel ? [groupLabel] : []),
      ...(groupGuard ? [groupGuard] : []),
      ...(group.use ?? []),
    ];
    const laneRoutes: LaneRoute[] = [];
    this.stacks.set(group, laneRoutes);
    for (const { decl } of group.routes) {
      const access = decl.access ?? group.access;
      if (!access) throw new Error(`route ${decl.method} ${decl.path}: no access declared`);
      const path = joinPath(base, decl.path);
      const methods = decl.method === 'all' ? ALL_METHODS : [decl.method];
      const registered = methods.map((method): RegisteredRoute => ({
        method,
        path,
        openApiPath: toOpenApiPath(path),
        tag: group.tag,
        access,
        errors: mergeErrors(group.errors ?? {}, decl.errors ?? {}),
        ...(group.errorShape ? { errorShape: group.errorShape } : {}),
        decl,
      }));
      for (const { method } of registered) {
        const duplicate = this.registered.find((r) => r.method === method && r.path === path);
        if (duplicate) throw new Error(`route ${method.toUpperCase()} ${path} declared twice`);
      }
      this.registered.push(...registered);
      // One handler for every method of the declaration (an `all` one answers the rest too).
      const handler = this.handlerFor(registered[0]!);
      // First of the route's own stack, so what its `before` refuses counts under it too.
      const routeLabel = labelRequests(path);
      for (const { method } of registered) {
        router[method](decl.path, routeLabel, ...(decl.before ?? []).map(refuseSkipping), handler);
        if (decl.method !== 'all')
          laneRoutes.push({
            method: method.toUpperCase(),
            path,
            base,
            stack: [...groupStack, routeLabel, ...(decl.before ?? []), handler],
          });
      }
      if (decl.method === 'all')
        router.all(decl.path, routeLabel, ...(decl.before ?? []).map(refuseSkipping), handler);
    }
    if (group.otherMethods) {
      const paths = [...new Set(group.routes.map((r) => r.decl.path))];
      router.all(paths, group.otherMethods);
    }
    if (group.onError) router.use(group.onError);
    return router;
  }

  private handlerFor(r: RegisteredRoute): RequestHandler {
    const { decl } = r;
    const guard = decl.guard === false ? undefined : GUARDS[r.access];
    const parse = decl.parse !== false;
    const params = parse ? decl.params : undefined;
    const query = parse ? decl.query : undefined;
    const body = parse && (decl.bodyType ?? 'json') === 'json' ? decl.body : undefined;
    const status = firstSuccessStatus(decl.responses);
    const { authorize } = decl;
    const check = this.options.checkResponses ? this.checker(r) : undefined;
    return async (req, res, next) => {
      try {
        if (check) check(res);
        // The guards throw their 401/403; `next` is not theirs to call here.
        if (guard) guard(req, res, noop);
        // Routes mounted before credentials are resolved (health) have no req.auth.
        const principal = (
          req.auth?.kind === 'principal' ? req.auth.principal : undefined
        ) as Principal;
        if (authorize) authorize({ principal, req });
        const parsedParams = params ? params.parse(req.params) : req.params;
        const parsedQuery: unknown = query ? query.parse(req.query) : undefined;
        const result = await decl.handler(
          new HandlerInput(
            parsedParams,
            query !== undefined,
            parsedQuery,
            body ? body.parse(req.body) : req.body,
            principal,
            req,
            res,
          ) as unknown as Parameters<typeof decl.handler>[0],
        );
        if (result === undefined || res.headersSent) return;
        if (isReply(result)) res.status(result.status).json(result.body);
        else res.status(status).json(result);
      } catch (err) {
        next(err);
      }
    };
  }

  /** Test mode: wraps `res.json` to hold each JSON answer against the declaration. */
  private checker(r: RegisteredRoute): (res: Response) => void {
    const name = `${r.decl.method.toUpperCase()} ${r.path}`;
    const errors = errorsOf(r);
    const violation = (status: number, problem: string) => {
      this.violations.push({ route: name, status, problem });
      return problem;
    };
    const problemOf = (status: number, body: unknown): string | undefined => {
      const declared = r.decl.responses[status];
      // An area with its own error shape may answer it with 3xx too (PostgREST's 300 PGRST201).
      if (status >= 300 && !declared && r.errorShape) {
        const shaped = r.errorShape.schema.safeParse(body);
        return shaped.success
          ? undefined
          : `the error is not a ${r.errorShape.name}: ${z.prettifyError(shaped.error)}`;
      }
      if (status >= 400 && !declared) {
        const envelope = errorEnvelopeSchema.safeParse(body);
        if (!envelope.success)
          return `the error is not in the envelope: ${z.prettifyError(envelope.error)}`;
        if (!errors.get(status)?.has(envelope.data.error))
          return `error ${status} ${envelope.data.error} is not declared`;
        return undefined;
      }
      if (!declared) return `status ${status} is not declared`;
      const { schema } = responseDecl(declared);
      if (!schema) return undefined;
      // The body as the client receives it (dates as strings, undefined fields gone).
      const wire: unknown = body === undefined ? undefined : JSON.parse(JSON.stringify(body));
      const result = schema.safeParse(wire);
      return result.success ? undefined : z.prettifyError(result.error);
    };
    return (res) => {
      let checked = false;
      const json = res.json.bind(res);
      res.json = (body: unknown) => {
        checked = true;
        const status = res.statusCode;
        const problem = problemOf(status, body);
        if (!problem) return json(body);
        violation(status, problem);
        res.status(500);
        return json({
          error: 'RESPONSE_CONTRACT_VIOLATION',
          message: `${name} answered ${status} against its declaration: ${problem}`,
          statusCode: 500,
          answered: body,
        });
      };
      res.on('finish', () => {
        if (checked || r.decl.relays || res.statusCode >= (r.errorShape ? 300 : 400)) return;
        if (r.decl.responses[res.statusCode] === undefined)
          violation(res.statusCode, `status ${res.statusCode} is not declared`);
      });
    };
  }
}
