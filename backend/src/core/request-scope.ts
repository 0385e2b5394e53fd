import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What the database layer needs to know about the HTTP request it is serving, without every
 * area passing it down: whether the client is still there, and who the client is. Set once per
 * request by core/http `requestScope`; `Database.withPrincipal` reads it.
 */
export interface RequestScope {
  /** Aborts when the client hangs up before its answer is complete. */
  signal: AbortSignal;
  /** The client's address (`req.ip`: X-Forwarded-For only through TRUST_PROXY's proxies). */
  ip: string | undefined;
  /** The request's id (X-Request-Id), for what logs outside the request's own code. */
  requestId?: string;
}

const storage = new AsyncLocalStorage<RequestScope>();

/** The scope of the request being served, if any (none for timers, sockets, start-up). */
export function currentRequestScope(): RequestScope | undefined {
  return storage.getStore();
}

export function runInRequestScope<T>(scope: RequestScope, fn: () => T): T {
  return storage.run(scope, fn);
}
