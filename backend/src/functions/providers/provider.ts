/**
 * Where edge functions run. app.ts chooses one provider when Kiln starts (local Deno processes,
 * or Deno Subhosting when it is configured); the routes call it without asking which one it is.
 */
import type http from 'node:http';
import type { FunctionRow, functionJson, InvocationTarget } from '../service.js';

/** The code does not load (a syntax or type error, a failed import): Deno's diagnostics. */
export class FunctionLoadError extends Error {
  constructor(
    message: string,
    readonly details: { name: string; message: string; stack?: string },
  ) {
    super(message);
  }
}

/** Where one invocation is sent, and what to do when it ends. */
export interface Upstream {
  url: URL;
  /** Headers added to the caller's (forwarded) ones. */
  headers?: Record<string, string>;
  agent?: http.Agent;
  /** Called when the invocation runs out of time. */
  onTimeout?: () => void;
  /** Called once the invocation is over, whatever its outcome. */
  release?: () => void;
}

export interface DeploymentInfo {
  deployment: ReturnType<typeof functionJson>['deployment'];
  buildLogs: { level: string; message: string }[];
}

export interface FunctionsProvider {
  /** What `GET /api/functions` reports as the runtime in use. */
  readonly kind: 'local' | 'subhosting';
  /** The URL functions reach Kiln by (`INSFORGE_INTERNAL_URL`): the internal one if they can. */
  kilnUrl(internalUrl: string | undefined, publicUrl: string): string;
  /** Load the code with this environment; throws FunctionLoadError with Deno's diagnostics. */
  check(slug: string, code: string, env: Record<string, string>): Promise<void>;
  /** A new version of the function was saved (or a redeploy asked for): make it the one served. */
  deploy(slug: string): Promise<void>;
  /** The secrets changed: every active function gets them (in the background). */
  redeployAll(): void;
  /** The function's deployment and its build logs, for `GET /api/functions/:slug/deployment`. */
  deployment(row: FunctionRow): Promise<DeploymentInfo>;
  /** The function was deleted: stop what runs it. */
  removed(row: FunctionRow): Promise<void>;
  /**
   * Where to send an invocation of an active function. `asked` is the request's path and query;
   * throws an AppError when the function cannot be reached.
   */
  upstream(slug: string, target: InvocationTarget, asked: URL): Promise<Upstream>;
  close(): Promise<void>;
}
