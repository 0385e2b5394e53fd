/**
 * Deno Subhosting (Deno Deploy's REST API, v1) as the functions runtime: every saved version of
 * an active function becomes a deployment in one Subhosting project, with the function's
 * secrets as its environment variables; invocations are proxied to the deployment's URL.
 *
 * Endpoints used: POST /organizations/:org/projects, GET /organizations/:org/projects?q=,
 * POST /projects/:id/deployments, GET /deployments/:id, GET /deployments/:id/build_logs,
 * DELETE /deployments/:id.
 */
import type { Logger } from '../../core/logger.js';

export interface SubhostingOptions {
  token: string;
  organizationId: string;
  apiUrl: string;
  /** The Subhosting project holding this Kiln project's functions. */
  projectName: string;
  logger: Logger;
  /** How often a pending deployment's status is read. */
  pollMs?: number;
  /** Give up waiting for a deployment after this long. */
  deployTimeoutMs?: number;
}

export interface Deployment {
  id: string;
  status: 'pending' | 'success' | 'failed';
  url: string | null;
  error: string | null;
}

interface ApiDeployment {
  id: string;
  status: 'pending' | 'success' | 'failed';
  domains?: string[];
}

export class SubhostingError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** The deployment's entry: our handler contract on top of Deno.serve. */
export function entryModule(): string {
  return `import handler from './function.ts';

Deno.serve(async (req: Request) => {
  try {
    const res = await handler(req);
    if (res instanceof Response) return res;
    return Response.json(
      { error: 'FUNCTION_INVALID_RESPONSE', message: 'The function did not return a Response', statusCode: 502 },
      { status: 502 },
    );
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    console.error(e);
    return Response.json(
      { error: 'FUNCTION_ERROR', message: e.name + ': ' + e.message, statusCode: 502 },
      { status: 502 },
    );
  }
});
`;
}

/** Loopback domains (a local stand-in for the service) are plain HTTP; real ones are HTTPS. */
export function deploymentUrl(domain: string | undefined): string | null {
  if (!domain) return null;
  return /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(domain)
    ? `http://${domain}`
    : `https://${domain}`;
}

export class SubhostingClient {
  private projectId: Promise<string> | undefined;

  constructor(private readonly options: SubhostingOptions) {}

  private async api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.options.apiUrl.replace(/\/$/, '')}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.options.token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!res.ok) {
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        /* plain text */
      }
      throw new SubhostingError(
        `Deno Subhosting ${method} ${path}: ${res.status} ${message}`,
        res.status,
      );
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** The project, found by name or created once. */
  project(): Promise<string> {
    this.projectId ??= (async () => {
      const org = encodeURIComponent(this.options.organizationId);
      const name = this.options.projectName;
      const found = await this.api<{ id: string; name: string }[]>(
        'GET',
        `/organizations/${org}/projects?q=${encodeURIComponent(name)}`,
      );
      const existing = found.find((p) => p.name === name);
      if (existing) return existing.id;
      const created = await this.api<{ id: string }>('POST', `/organizations/${org}/projects`, {
        name,
        description: 'Kiln edge functions',
      });
      return created.id;
    })().catch((err: unknown) => {
      this.projectId = undefined;
      throw err;
    });
    return this.projectId;
  }

  /** Start a deployment of one function version. */
  async deploy(slug: string, code: string, env: Record<string, string>): Promise<Deployment> {
    const projectId = await this.project();
    const d = await this.api<ApiDeployment>('POST', `/projects/${projectId}/deployments`, {
      entryPointUrl: 'main.ts',
      assets: {
        'main.ts': { kind: 'file', content: entryModule(), encoding: 'utf-8' },
        'function.ts': { kind: 'file', content: code, encoding: 'utf-8' },
      },
      envVars: env,
      description: `Kiln function ${slug}`,
    });
    return { id: d.id, status: d.status, url: deploymentUrl(d.domains?.[0]), error: null };
  }

  async status(id: string): Promise<Deployment> {
    const d = await this.api<ApiDeployment>('GET', `/deployments/${encodeURIComponent(id)}`);
    let error: string | null = null;
    if (d.status === 'failed') {
      const logs = await this.buildLogs(id).catch(() => []);
      error =
        logs
          .filter((l) => l.level === 'error')
          .map((l) => l.message)
          .join('\n') || 'The deployment failed';
    }
    return { id: d.id, status: d.status, url: deploymentUrl(d.domains?.[0]), error };
  }

  buildLogs(id: string): Promise<{ level: string; message: string }[]> {
    return this.api('GET', `/deployments/${encodeURIComponent(id)}/build_logs`);
  }

  async remove(id: string): Promise<void> {
    await this.api('DELETE', `/deployments/${encodeURIComponent(id)}`).catch((err: unknown) => {
      if (!(err instanceof SubhostingError && err.status === 404)) throw err;
    });
  }

  /** Poll until the deployment is done (or the wait runs out: then it stays pending). */
  async settle(deployment: Deployment): Promise<Deployment> {
    const until = Date.now() + (this.options.deployTimeoutMs ?? 120_000);
    let current = deployment;
    while (current.status === 'pending' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, this.options.pollMs ?? 1000));
      current = await this.status(current.id);
    }
    return current;
  }
}
