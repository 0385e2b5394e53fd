/**
 * Kiln's edge-function runtime (Deno). The backend starts it on loopback and forwards
 * invocations to it. This first version only answers its health check; loading and running
 * user functions arrives with the edge-functions milestone.
 */
const port = Number(Deno.env.get('KILN_FUNCTIONS_PORT') ?? '7133');

export function handler(req: Request): Response {
  const url = new URL(req.url);
  if (url.pathname === '/health') {
    return Response.json({ status: 'ok', runtime: 'deno', version: Deno.version.deno });
  }
  return Response.json(
    { error: 'NOT_FOUND', message: `No function at ${url.pathname}`, statusCode: 404 },
    { status: 404 },
  );
}

if (import.meta.main) {
  Deno.serve({ hostname: '127.0.0.1', port }, handler);
}
