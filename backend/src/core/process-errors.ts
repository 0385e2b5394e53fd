/**
 * The process-wide policy for errors no code caught (server.ts installs it once, after its logger
 * exists; README "Errors nothing caught"):
 *
 * - An uncaught exception is logged (level error, with the request id when it was thrown while a
 *   request was being served) and the process shuts down as on SIGTERM (no new requests, the
 *   pools and the embedded PostgreSQL closed), then exits 1. A throw that reached the top unwound
 *   synchronous work half done, so nothing in this process can be trusted to be consistent any
 *   more: a supervisor (systemd, Docker's restart policy, Kubernetes) starts a clean one. A
 *   shutdown that does not finish within `forceExitMs` is cut short (exit 1 all the same).
 * - An unhandled rejection is logged the same way and the process keeps serving. The promise's
 *   work has already failed and nothing was waiting for its answer (a forgotten `await`, a
 *   fire-and-forget call): its own caller got no result, but no state was left half-written by
 *   a throw through it. Node's default would end the process, turning one request's bug into an
 *   outage for every client.
 */
import type { Logger } from './logger.js';
import { currentRequestScope } from './request-scope.js';

export interface ProcessErrorPolicy {
  onUncaughtException(error: unknown, origin?: string): void;
  onUnhandledRejection(reason: unknown): void;
}

function errorFields(error: unknown): Record<string, unknown> {
  const requestId = currentRequestScope()?.requestId;
  const fields: Record<string, unknown> =
    error instanceof Error
      ? { error: `${error.name}: ${error.message}`, stack: error.stack }
      : { error: String(error) };
  if (requestId) fields.requestId = requestId;
  return fields;
}

export function processErrorPolicy(options: {
  logger: Logger;
  /** The graceful shutdown (server.ts): stop serving, close everything, exit with `code`. */
  shutdown: (reason: string, code: number) => unknown;
  /** Exit anyway this long after an uncaught exception if the shutdown has not (default 10 s). */
  forceExitMs?: number;
  /** process.exit, replaceable in tests. */
  exit?: (code: number) => void;
}): ProcessErrorPolicy {
  const { logger, shutdown } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  return {
    onUncaughtException(error, origin = 'uncaughtException') {
      logger.error('uncaught exception: shutting down', { ...errorFields(error), origin });
      setTimeout(() => exit(1), options.forceExitMs ?? 10_000).unref();
      void shutdown('uncaughtException', 1);
    },
    onUnhandledRejection(reason) {
      logger.error('unhandled promise rejection (the process keeps running)', errorFields(reason));
    },
  };
}

/** Installs the policy for this process (once, from server.ts). */
export function installProcessErrorPolicy(policy: ProcessErrorPolicy): void {
  process.on('uncaughtException', (error, origin) => policy.onUncaughtException(error, origin));
  process.on('unhandledRejection', (reason) => policy.onUnhandledRejection(reason));
}
