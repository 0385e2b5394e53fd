/**
 * A local stand-in for Deno Subhosting (Deno Deploy REST API v1): the endpoints Kiln uses, with
 * each deployment served by its own HTTP server on loopback. A deployment answers every request
 * with what it was deployed with (id, env var names, the caller's method/path/headers/cookies), so tests
 * can see routing and configuration; code containing FAIL_BUILD fails to build.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeDeployment {
  id: string;
  projectId: string;
  status: 'pending' | 'success' | 'failed';
  assets: Record<string, { kind: string; content: string; encoding: string }>;
  envVars: Record<string, string>;
  server?: http.Server;
  domain?: string;
  deleted: boolean;
}

export class FakeSubhosting {
  readonly token = 'ddp_fake_token';
  readonly org = 'org-1234';
  readonly projects: { id: string; name: string }[] = [];
  readonly deployments = new Map<string, FakeDeployment>();
  readonly calls: string[] = [];
  /** While true, deployments stay pending. */
  hold = false;
  private server = http.createServer((req, res) => void this.handle(req, res));
  private seq = 0;
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  async stop(): Promise<void> {
    for (const d of this.deployments.values()) d.server?.close();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private json(res: http.ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
    const url = new URL(req.url!, 'http://fake');
    const p = url.pathname.replace(/^\/v1/, '');
    this.calls.push(`${req.method} ${p}`);
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return this.json(res, 401, { code: 'unauthorized', message: 'bad token' });

    let m: RegExpMatchArray | null;
    if ((m = p.match(/^\/organizations\/([^/]+)\/projects$/))) {
      if (m[1] !== this.org) return this.json(res, 404, { message: 'no such organization' });
      if (req.method === 'GET') {
        const q = url.searchParams.get('q') ?? '';
        return this.json(
          res,
          200,
          this.projects.filter((x) => x.name.includes(q)),
        );
      }
      const project = { id: `proj-${++this.seq}`, name: body.name as string };
      this.projects.push(project);
      return this.json(res, 200, project);
    }
    if ((m = p.match(/^\/projects\/([^/]+)\/deployments$/)) && req.method === 'POST') {
      if (!this.projects.some((x) => x.id === m![1]))
        return this.json(res, 404, { message: 'no such project' });
      if (!body?.assets?.[body.entryPointUrl])
        return this.json(res, 400, { message: 'entryPointUrl must name an asset' });
      const d: FakeDeployment = {
        id: `dep-${++this.seq}`,
        projectId: m[1]!,
        status: 'pending',
        assets: body.assets,
        envVars: body.envVars ?? {},
        deleted: false,
      };
      this.deployments.set(d.id, d);
      return this.json(res, 200, this.view(d));
    }
    if ((m = p.match(/^\/deployments\/([^/]+)(\/build_logs)?$/))) {
      const d = this.deployments.get(m[1]!);
      if (!d || d.deleted) return this.json(res, 404, { message: 'no such deployment' });
      if (m[2]) {
        const failed = d.status === 'failed';
        return this.json(res, 200, [
          { level: 'info', message: 'Downloading assets' },
          ...(failed
            ? [{ level: 'error', message: 'error: FAIL_BUILD found in function.ts' }]
            : []),
          { level: 'info', message: failed ? 'Build failed' : 'Deployment complete' },
        ]);
      }
      if (req.method === 'DELETE') {
        d.deleted = true;
        d.server?.close();
        res.writeHead(204).end();
        return;
      }
      if (d.status === 'pending' && !this.hold) await this.build(d);
      return this.json(res, 200, this.view(d));
    }
    this.json(res, 404, { message: `no route ${req.method} ${p}` });
  }

  private view(d: FakeDeployment) {
    return {
      id: d.id,
      projectId: d.projectId,
      status: d.status,
      domains: d.domain ? [d.domain] : [],
      createdAt: new Date().toISOString(),
    };
  }

  private async build(d: FakeDeployment) {
    if (d.assets['function.ts']?.content.includes('FAIL_BUILD')) {
      d.status = 'failed';
      return;
    }
    // Code with a line `// OWN_CSP: <policy>` answers with that Content-Security-Policy.
    const ownCsp = /\/\/ OWN_CSP: (.+)$/m.exec(d.assets['function.ts']?.content ?? '')?.[1];
    d.server = http.createServer((req, res) => {
      if (ownCsp) res.setHeader('content-security-policy', ownCsp);
      this.json(res, 200, {
        deploymentId: d.id,
        method: req.method,
        path: req.url,
        authorization: req.headers.authorization ?? null,
        cookie: req.headers.cookie ?? null,
        envKeys: Object.keys(d.envVars).sort(),
        greeting: d.envVars.GREETING ?? null,
      });
    });
    await new Promise<void>((r) => d.server!.listen(0, '127.0.0.1', r));
    d.domain = `127.0.0.1:${(d.server.address() as AddressInfo).port}`;
    d.status = 'success';
  }
}
