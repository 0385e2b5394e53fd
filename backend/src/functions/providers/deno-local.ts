/** Edge functions as local Deno processes, one per function (./local-runtime.ts). */
import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { SecretsService } from '../../secrets/service.js';
import { fingerprint, type LocalRuntime } from './local-runtime.js';
import {
  normalizeCode,
  type FunctionRow,
  type FunctionsService,
  type InvocationTarget,
} from '../service.js';
import {
  FunctionLoadError,
  type DeploymentInfo,
  type FunctionsProvider,
  type Upstream,
} from './provider.js';

export interface DenoLocalOptions {
  runtime: LocalRuntime;
  functions: FunctionsService;
  secrets: SecretsService;
  functionLogger: Logger;
  apiBaseUrl: () => string;
}

export class DenoLocalProvider implements FunctionsProvider {
  readonly kind = 'local' as const;

  constructor(private readonly options: DenoLocalOptions) {}

  /** The processes run next to Kiln: they reach it directly. */
  kilnUrl(internalUrl: string | undefined, publicUrl: string): string {
    return internalUrl || publicUrl;
  }

  check(slug: string, code: string, env: Record<string, string>): Promise<void> {
    return this.options.runtime.check(slug, code, env);
  }

  /** A process starts with the new version on its next invocation (the stamp changed). */
  async deploy(): Promise<void> {}

  /** Processes restart with the new secrets on their next invocation (the stamp changed). */
  redeployAll(): void {}

  async deployment(): Promise<DeploymentInfo> {
    return { deployment: null, buildLogs: [] };
  }

  async removed(row: FunctionRow): Promise<void> {
    this.options.runtime.stopFunction(row.slug);
  }

  async upstream(slug: string, target: InvocationTarget, asked: URL): Promise<Upstream> {
    const { runtime, functions, secrets, functionLogger } = this.options;
    const lease = await runtime
      .acquire({
        slug,
        fingerprint: fingerprint([target.stamp]),
        load: async () => {
          const row = await functions.get(slug);
          return {
            code: normalizeCode(row.code),
            env: await secrets.environment({ apiKey: row.api_key_access }),
          };
        },
      })
      .catch((err: unknown) => {
        functionLogger.warn('function did not start', {
          source: 'function.logs',
          slug,
          error: err instanceof Error ? err.message : String(err),
        });
        throw new AppError(
          502,
          err instanceof FunctionLoadError ? 'FUNCTION_LOAD_FAILED' : 'FUNCTION_START_FAILED',
          `Function "${slug}" could not start; the reason is in the function logs`,
        );
      });
    return {
      url: new URL(`http://127.0.0.1:${lease.port}/`),
      headers: { 'x-kiln-url': `${this.options.apiBaseUrl()}${asked.pathname}${asked.search}` },
      agent: runtime.httpAgent,
      onTimeout: lease.kill,
      release: lease.release,
    };
  }

  close(): Promise<void> {
    return this.options.runtime.close();
  }
}
