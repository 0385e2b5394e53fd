/**
 * Runs ONE edge function in its own Deno process. Kiln starts it with network access only (no
 * file system, no subprocesses, no FFI) and an environment holding the function's secrets, then
 * writes one JSON line to stdin: `{mode, code, keep}`.
 *
 * - `check`: load the module, make sure its default export is a function, print the verdict as
 *   a marked line and exit. This is how Kiln reports Deno's own diagnostics when code is saved.
 * - `serve`: load the module, listen on a loopback port chosen by the OS, print it as a marked
 *   line, and answer every request with the default export. A handler that throws or returns
 *   something other than a Response becomes a 502 in Kiln's error envelope.
 *
 * Everything else the function prints (console.log...) is its log output.
 */
export const MARK = '\u0000kiln:';

type Handler = (req: Request) => Response | Promise<Response>;

async function readConfig(): Promise<{ mode: 'check' | 'serve'; code: string; keep: string[] }> {
  const reader = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (value) text += value;
    const nl = text.indexOf('\n');
    if (nl >= 0) {
      reader.releaseLock();
      return JSON.parse(text.slice(0, nl));
    }
    if (done) return JSON.parse(text);
  }
}

/** Drop every variable that is not one of the function's own (Deno's, proxies, paths). */
function cleanEnvironment(keep: Set<string>): void {
  for (const key of Object.keys(Deno.env.toObject())) if (!keep.has(key)) Deno.env.delete(key);
}

const encoder = new TextEncoder();
/** Marked lines go straight to stdout, whatever the function does to `console`. */
function say(message: Record<string, unknown>): void {
  const bytes = encoder.encode(`${MARK}${JSON.stringify(message)}\n`);
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
}

function describe(err: unknown): { name: string; message: string; stack?: string } {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { name: 'Error', message: String(err) };
}

function failure(status: number, error: string, message: string): Response {
  return Response.json({ error, message, statusCode: status }, { status });
}

async function load(code: string): Promise<Handler> {
  const url = `data:application/typescript;base64,${encodeBase64(code)}`;
  const mod = (await import(url)) as { default?: unknown };
  if (typeof mod.default !== 'function') {
    throw new TypeError(
      'The module must export a function as its default export: export default async (req: Request) => new Response(...)',
    );
  }
  return mod.default as Handler;
}

function encodeBase64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

if (import.meta.main) {
  const config = await readConfig();
  const keep = new Set(config.keep);
  cleanEnvironment(keep);
  let handler: Handler;
  try {
    handler = await load(config.code);
  } catch (err) {
    say({ ok: false, error: describe(err) });
    Deno.exit(config.mode === 'check' ? 0 : 1);
  }
  // Deno's npm compatibility layer may have added variables while loading.
  cleanEnvironment(keep);
  if (config.mode === 'check') {
    say({ ok: true });
    Deno.exit(0);
  }
  Deno.serve(
    {
      hostname: '127.0.0.1',
      port: 0,
      onListen: ({ port }) => say({ ok: true, port }),
    },
    async (incoming) => {
      // Kiln forwards the caller's public URL; the function sees that, not the loopback one.
      const publicUrl = incoming.headers.get('x-kiln-url') ?? incoming.url;
      const headers = new Headers(incoming.headers);
      headers.delete('x-kiln-url');
      const req = new Request(publicUrl, {
        method: incoming.method,
        headers,
        body: incoming.body,
        signal: incoming.signal,
      });
      try {
        const res = await handler(req);
        if (!(res instanceof Response)) {
          return failure(
            502,
            'FUNCTION_INVALID_RESPONSE',
            `The function returned ${res === null ? 'null' : typeof res}, not a Response`,
          );
        }
        return res;
      } catch (err) {
        const { name, message } = describe(err);
        console.error(err);
        return failure(502, 'FUNCTION_ERROR', `${name}: ${message}`);
      }
    },
  );
}
