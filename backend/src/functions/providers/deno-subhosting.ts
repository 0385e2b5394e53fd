/**
 * Edge functions on Deno Subhosting (../subhosting.ts): every saved version of an active function
 * becomes a deployment with the current secrets, and invocations go to the deployment's URL. Code
 * is still checked with the local Deno before it is saved.
 */
import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { SecretsService } from '../../secrets/service.js';
import type { LocalRuntime } from './local-runtime.js';
import {
  functionJson,
  normalizeCode,
  type FunctionRow,
  type FunctionsService,
  type InvocationTarget,
} from '../service.js';
import type { SubhostingClient } from './subhosting.js';
import type { DeploymentInfo, FunctionsProvider, Upstream } from './provider.js';

export interface DenoSubhostingOptions {
  client: SubhostingClient;
  /** The local Deno, used to check code before it is saved. */
  checker: LocalRuntime;
  functions: FunctionsService;
  secrets: SecretsService;
  logger: Logger;
}

export class DenoSubhostingProvider implements FunctionsProvider {
  readonly kind = 'subhosting' as const;

  constructor(private readonly options: DenoSubhostingOptions) {}

  /** Deployed functions reach Kiln by its public URL only. */
  kilnUrl(_internalUrl: string | undefined, publicUrl: string): string {
    return publicUrl;
  }

  check(slug: string, code: string, env: Record<string, string>): Promise<void> {
    return this.options.checker.check(slug, code, env);
  }

  /**
   * Deploy the function's current version with the current secrets. The API answers with the
   * deployment pending; its outcome is recorded when Subhosting reports it (a failed build keeps
   * the previous deployment serving), and the replaced deployment is removed.
   */
  async deploy(slug: string): Promise<void> {
    const { client, functions, secrets, logger } = this.options;
    const row = await functions.get(slug);
    if (row.status !== 'active') return;
    const previous = row.deployment_id;
    try {
      const started = await client.deploy(
        slug,
        normalizeCode(row.code),
        await secrets.environment({ apiKey: row.api_key_access }),
      );
      // Until the new deployment is up, the previous one (if any) keeps serving.
      await functions.recordDeployment(
        slug,
        row.version,
        started.status === 'success'
          ? started
          : { id: started.id, status: 'pending', url: row.deployment_url, error: null },
      );
      void client
        .settle(started)
        .then(async (final) => {
          if (final.status === 'failed' && row.deployment_url) {
            // Keep serving the last good deployment; report the failure.
            await functions.recordDeployment(slug, row.version, {
              id: previous,
              status: 'success',
              url: row.deployment_url,
              error: `Deployment ${final.id} failed: ${final.error}`,
            });
            return;
          }
          await functions.recordDeployment(slug, row.version, final);
          if (final.status === 'success' && previous && previous !== final.id)
            await client.remove(previous);
        })
        .catch((err: unknown) =>
          logger.warn('subhosting deployment check failed', { slug, error: String(err) }),
        );
    } catch (err) {
      logger.warn('subhosting deployment failed', { slug, error: String(err) });
      await functions.recordDeployment(slug, row.version, {
        id: previous,
        status: row.deployment_url ? 'success' : 'failed',
        url: row.deployment_url,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  /** Deployments carry the secrets they were made with: redeploy after a change. */
  redeployAll(): void {
    void (async () => {
      for (const f of await this.options.functions.list()) {
        if (f.status === 'active') await this.deploy(f.slug);
      }
    })().catch((err: unknown) =>
      this.options.logger.warn('subhosting redeploy failed', { error: String(err) }),
    );
  }

  async deployment(row: FunctionRow): Promise<DeploymentInfo> {
    const buildLogs = row.deployment_id
      ? await this.options.client.buildLogs(row.deployment_id).catch(() => [])
      : [];
    return { deployment: functionJson(row, false).deployment, buildLogs };
  }

  async removed(row: FunctionRow): Promise<void> {
    this.options.checker.stopFunction(row.slug);
    if (row.deployment_id)
      await this.options.client.remove(row.deployment_id).catch((err: unknown) =>
        this.options.logger.warn('subhosting deployment removal failed', {
          slug: row.slug,
          error: String(err),
        }),
      );
  }

  async upstream(slug: string, target: InvocationTarget, asked: URL): Promise<Upstream> {
    if (!target.deploymentUrl) {
      throw new AppError(
        503,
        'FUNCTION_NOT_DEPLOYED',
        target.deploymentStatus === 'failed'
          ? `Function "${slug}" failed to deploy: see GET /api/functions/${slug}/deployment`
          : `Function "${slug}" is still being deployed`,
        `GET /api/functions/${slug}/deployment shows the deployment's status and build logs`,
      );
    }
    // Path and query only, on the deployment's origin: a request line in absolute form
    // (GET http://169.254.169.254/functions/…) must not choose where Kiln connects.
    const url = new URL(target.deploymentUrl);
    url.pathname = asked.pathname;
    url.search = asked.search;
    return { url };
  }

  close(): Promise<void> {
    return this.options.checker.close();
  }
}
