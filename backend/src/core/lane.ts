/**
 * A direct lane to one hot route group (the records paths), beside Express's router.
 *
 * Express finds a route by walking every layer of the app in order, matching each mount path,
 * trimming and restoring `req.url` at every router boundary; on the records hot path that walk
 * costs more than parsing and planning the request. A lane answers the same requests with the
 * same functions in the same order — the app's front middleware (request id, scope, access log,
 * headers, CORS, credentials), then the group's guard, its `use`, the route's `before` and its
 * handler, errors to the group's `onError` and then the app's error handler — but finds the route
 * with one precompiled match per declared route instead of the walk.
 *
 * It takes only what it matches cleanly: a declared method (not `all`) on a path Express would
 * route to that declaration; anything else (another method, a path that does not decode, a
 * request the lane is unsure of) goes to the app untouched, so the app stays the reference and
 * the lane can only ever be a shortcut to the same answer. `RouteRegistry.lane` builds it and
 * refuses to when an earlier mount could see these paths first.
 */
import type { ErrorRequestHandler, Express, Request, RequestHandler, Response } from 'express';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';

export type Lane = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface LaneRoute {
  /** Upper-case HTTP method. */
  method: string;
  /** The full Express path (`/api/database/records/:table`). */
  path: string;
  /** Where the group is mounted (`/api/database`): `req.baseUrl` while the route runs. */
  base: string;
  /** Guard, group middleware, the route's `before` and its handler, in Express's order. */
  stack: readonly RequestHandler[];
}

export interface LaneOptions {
  app: Express;
  /** The app's middleware that runs before the group for these paths, in order. */
  front: readonly RequestHandler[];
  routes: readonly LaneRoute[];
  /** The group's error handler (errors of the route stack go here first). */
  onError?: ErrorRequestHandler;
  /** The app's last error handler (front errors, and what `onError` passes on). */
  finalError: ErrorRequestHandler;
}

/**
 * The request and response classes for the HTTP server in front of `app` (and its lanes), to be
 * passed to `http.createServer`: Node's own, born with Express's request and response methods on
 * their prototype chain. Express otherwise switches each request's and response's prototype to
 * `app.request` / `app.response` when it arrives (so does a lane); V8 then cannot share the
 * objects' hidden classes, and every property set afterwards (Express's fields, Kiln's, the
 * status code) copies a map of that object's own: about 5 kB allocated per request, and slower
 * property access for the rest of it. Here `app.request` / `app.response` become these classes'
 * prototypes (inheriting the previous ones), so setting the prototype again is a no-op and every
 * request of the server shares one hidden class. Requests built elsewhere (a test's own server)
 * still get their prototype set as before.
 */
export function serverClasses(app: Express): {
  IncomingMessage: typeof http.IncomingMessage;
  ServerResponse: typeof http.ServerResponse;
} {
  class KilnRequest extends http.IncomingMessage {}
  class KilnResponse<R extends IncomingMessage = IncomingMessage> extends http.ServerResponse<R> {}
  Object.setPrototypeOf(KilnRequest.prototype, app.request);
  Object.setPrototypeOf(KilnResponse.prototype, app.response);
  app.request = KilnRequest.prototype as Request;
  app.response = KilnResponse.prototype as unknown as Response;
  return { IncomingMessage: KilnRequest, ServerResponse: KilnResponse };
}

/** A route path's segments: a literal (lower case) or a `:name` parameter. */
type Segment = { literal: string } | { param: string };

/**
 * A matcher for a route path made of literal and `:name` segments, as Express's router matches
 * it (case-insensitive, one trailing slash allowed, a parameter is one non-empty segment,
 * percent-decoded). Paths with other syntax (`{optional}`, `*wildcards`) are not laned:
 * undefined. The matcher returns the parameters, or undefined; it throws when a parameter does
 * not decode (the lane then leaves the request to the app).
 */
function matcherFor(
  path: string,
): ((pathname: string) => Record<string, string> | undefined) | undefined {
  const parts = path.replace(/\/+$/, '').split('/').slice(1);
  const segments: Segment[] = [];
  for (const part of parts) {
    if (/^:[A-Za-z_$][\w$]*$/.test(part)) segments.push({ param: part.slice(1) });
    else if (/^[\w.~-]+$/.test(part)) segments.push({ literal: part.toLowerCase() });
    else return undefined;
  }
  return (pathname) => {
    const given = pathname.split('/');
    // given[0] is '' (the leading slash); one trailing slash leaves a last ''.
    let count = given.length - 1;
    if (count === segments.length + 1 && given[count] === '') count--;
    if (count !== segments.length) return undefined;
    const params: Record<string, string> = {};
    for (let k = 0; k < segments.length; k++) {
      const segment = segments[k]!;
      const value = given[k + 1]!;
      if ('literal' in segment) {
        if (value.toLowerCase() !== segment.literal) return undefined;
      } else {
        if (value === '') return undefined;
        params[segment.param] = value.includes('%') ? decodeURIComponent(value) : value;
      }
    }
    return params;
  };
}

export function createLane(options: LaneOptions): Lane {
  const { app, front, onError, finalError } = options;
  const byMethod = new Map<
    string,
    Array<{
      route: LaneRoute;
      matches: (pathname: string) => Record<string, string> | undefined;
      baseDepth: number;
    }>
  >();
  const laned: LaneRoute[] = [];
  for (const route of options.routes) {
    const matches = matcherFor(route.path);
    if (!matches) continue;
    laned.push(route);
    const list = byMethod.get(route.method) ?? [];
    list.push({ route, matches, baseDepth: route.base.split('/').filter(Boolean).length });
    byMethod.set(route.method, list);
  }
  const prefixes = [...new Set(laned.map((r) => r.base.toLowerCase()))];

  return (rawReq, rawRes) => {
    const candidates = byMethod.get(rawReq.method ?? '');
    const url = rawReq.url ?? '';
    if (!candidates || !prefixes.some((p) => url.length >= p.length && startsWithCi(url, p)))
      return false;
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    let found: { route: LaneRoute; params: Record<string, string>; baseDepth: number } | undefined;
    try {
      for (const c of candidates) {
        const params = c.matches(pathname);
        if (params) {
          found = { route: c.route, params, baseDepth: c.baseDepth };
          break;
        }
      }
    } catch {
      return false; // a parameter that does not decode: the app answers it
    }
    if (!found) return false;
    run(rawReq as Request, rawRes as Response, found, url, pathname);
    return true;
  };

  function run(
    req: Request,
    res: Response,
    found: { route: LaneRoute; params: Record<string, string>; baseDepth: number },
    url: string,
    pathname: string,
  ): void {
    // What app.handle and the router set up before the first middleware.
    req.res = res;
    res.req = req;
    Object.setPrototypeOf(req, app.request);
    Object.setPrototypeOf(res, app.response);
    if (!res.locals) res.locals = Object.create(null) as Record<string, unknown>;
    req.originalUrl = url;
    req.baseUrl = '';
    req.params = {};

    const { stack } = found.route;
    let i = 0;
    let inRoute = false;
    // The base as the client wrote it (its case), then the rest, as the router trims them.
    const baseLength = baseLengthOf(pathname, found.baseDepth);
    const enterRoute = () => {
      inRoute = true;
      req.baseUrl = pathname.slice(0, baseLength);
      req.url = url.slice(baseLength) || '/';
      req.params = found.params;
    };
    const leaveRoute = () => {
      inRoute = false;
      req.baseUrl = '';
      req.url = url;
      req.params = {};
    };
    const fail = (err: unknown) => {
      if (inRoute && onError) {
        call4(onError, err, (passed) => {
          leaveRoute();
          call4(finalError, passed, () => undefined);
        });
        return;
      }
      if (inRoute) leaveRoute();
      call4(finalError, err, () => undefined);
    };
    const next = (err?: unknown): void => {
      if (err !== undefined && err !== null) {
        if (err === 'route' || err === 'router') {
          // App-level middleware's next('route') is next(), as in Express; in the group's part
          // it is refused as the app refuses it (skippingRefused).
          if (inRoute || err === 'router') {
            fail(skippingRefused(err, req));
            return;
          }
        } else {
          fail(err);
          return;
        }
      }
      if (i === front.length && !inRoute) enterRoute();
      const fn = i < front.length ? front[i] : stack[i - front.length];
      i++;
      if (!fn) {
        // Every route handler answers or fails; falling off the end is a bug, answered as one.
        fail(new Error(`no handler answered ${req.method} ${req.originalUrl}`));
        return;
      }
      invoke(fn, next);
    };
    const invoke = (fn: RequestHandler, nextFn: (err?: unknown) => void) => {
      try {
        const ret = fn(req, res, nextFn) as unknown;
        if (ret instanceof Promise) ret.catch((e: unknown) => nextFn(e ?? new Error('Rejected')));
      } catch (e) {
        nextFn(e);
      }
    };
    const call4 = (fn: ErrorRequestHandler, err: unknown, after: (passed: unknown) => void) => {
      try {
        const ret = fn(err, req, res, (passed?: unknown) => after(passed ?? err)) as unknown;
        if (ret instanceof Promise) ret.catch((e: unknown) => after(e));
      } catch (e) {
        after(e);
      }
    };
    next();
  }
}

/**
 * next('route') / next('router') from a route group's middleware or a route's `before`: refused,
 * in the lane and in the app alike (RouteRegistry.router). In Express they hand the request to
 * whatever else may match it further on; Kiln declares one route per method and path
 * (core/route.ts), which answers its own requests, and the lane (which has no "further on") could
 * only guess. No route uses them; one that did would answer 500 with this message in the log.
 */
export function skippingRefused(how: 'route' | 'router', req: IncomingMessage): Error {
  return new Error(
    `next('${how}') is not supported (${req.method ?? ''} ${(req as Request).originalUrl ?? req.url}): a declared route answers its own requests; pass an error or call next()`,
  );
}

function startsWithCi(s: string, lowerPrefix: string): boolean {
  for (let k = 0; k < lowerPrefix.length; k++) {
    const c = s.charCodeAt(k);
    const lower = c >= 65 && c <= 90 ? c + 32 : c;
    if (lower !== lowerPrefix.charCodeAt(k)) return false;
  }
  return true;
}

/** Length of the first `depth` path segments of `pathname` (`/api/database` of a records path). */
function baseLengthOf(pathname: string, depth: number): number {
  let seen = 0;
  for (let k = 1; k < pathname.length; k++) {
    if (pathname[k] === '/') {
      seen++;
      if (seen === depth) return k;
    }
  }
  return pathname.length;
}
