/**
 * A local OpenAI-compatible upstream (the wire formats OpenRouter and OpenAI speak): models,
 * chat completions (JSON and SSE streaming, tool calls, image output), embeddings (float and
 * base64) and image generations. Behaviour is chosen by model name:
 *   fail/500, fail/429, fail/400 → that error; slow/model → answers after `slowMs`;
 *   endless/model → streams until the client goes away (counted in `aborted`).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const FAKE_KEY = 'sk-fake-upstream-key';
export const REPLY = 'Hello from the fake upstream, one word at a time.';
export const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

export class FakeOpenAI {
  readonly requests: { path: string; body: any }[] = [];
  aborted = 0;
  /** Delay between streamed chunks. */
  chunkDelayMs = 5;
  slowMs = 3000;
  url = '';
  private server = http.createServer((req, res) => void this.handle(req, res));

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  async stop(): Promise<void> {
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
    const path = new URL(req.url!, 'http://x').pathname.replace(/^\/v1/, '');
    this.requests.push({ path, body });
    if (req.headers.authorization !== `Bearer ${FAKE_KEY}`) {
      // As OpenAI does: the message quotes part of the key it was given.
      const given = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      return this.json(res, 401, {
        error: {
          message: `Incorrect API key provided: ${given.slice(0, 6)}****${given.slice(-4)}`,
          code: 401,
        },
      });
    }
    if (req.method === 'GET' && path === '/models') {
      return this.json(res, 200, {
        object: 'list',
        data: [
          'openai/gpt-4o-mini',
          'anthropic/claude-sonnet',
          'openai/text-embedding-3-small',
          'google/gemini-image',
          'fail/500',
          'fail/429',
          'fail/400',
          'slow/model',
          'endless/model',
        ].map((id) => ({
          id,
          object: 'model',
          name: id.toUpperCase(),
          architecture: {
            input_modalities: ['text'],
            output_modalities: id.includes('image') ? ['image', 'text'] : ['text'],
          },
        })),
      });
    }
    const model = body?.model as string | undefined;
    if (model === 'fail/500')
      return this.json(res, 500, { error: { message: 'upstream exploded' } });
    if (model === 'fail/429') return this.json(res, 429, { error: { message: 'slow down' } });
    if (model === 'fail/400') return this.json(res, 400, { error: { message: 'bad messages' } });
    if (model === 'slow/model') await new Promise((r) => setTimeout(r, this.slowMs));

    if (path === '/chat/completions') return this.chat(req, res, body);
    if (path === '/embeddings') {
      const inputs: string[] = Array.isArray(body.input) ? body.input : [body.input];
      const dims = body.dimensions ?? 8;
      return this.json(res, 200, {
        object: 'list',
        model,
        data: inputs.map((text, index) => {
          const vector = Array.from({ length: dims }, (_, i) => (text.length + i) / 100);
          return {
            object: 'embedding',
            index,
            embedding:
              body.encoding_format === 'base64'
                ? Buffer.from(new Float32Array(vector).buffer).toString('base64')
                : vector,
          };
        }),
        usage: { prompt_tokens: inputs.length * 3, total_tokens: inputs.length * 3 },
      });
    }
    if (path === '/images/generations') {
      return this.json(res, 200, {
        created: 1,
        data: Array.from({ length: body.n ?? 1 }, () => ({ b64_json: PNG })),
        usage: { input_tokens: 5, output_tokens: 100, total_tokens: 105 },
      });
    }
    this.json(res, 404, { error: { message: `no route ${path}` } });
  }

  private async chat(req: http.IncomingMessage, res: http.ServerResponse, body: any) {
    const usage = { prompt_tokens: 11, completion_tokens: 9, total_tokens: 20 };
    const toolCall = body.tools?.length
      ? {
          id: 'call_1',
          type: 'function',
          function: { name: body.tools[0].function.name, arguments: '{"city":"Paris"}' },
        }
      : undefined;
    const wantsImage = body.modalities?.includes('image');
    if (!body.stream) {
      return this.json(res, 200, {
        id: 'cmpl-1',
        object: 'chat.completion',
        model: body.model,
        choices: [
          {
            index: 0,
            finish_reason: toolCall ? 'tool_calls' : 'stop',
            message: {
              role: 'assistant',
              content: toolCall ? null : wantsImage ? 'Here is your image' : REPLY,
              ...(toolCall ? { tool_calls: [toolCall] } : {}),
              ...(wantsImage
                ? {
                    images: [
                      { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
                    ],
                  }
                : {}),
            },
          },
        ],
        usage,
      });
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let gone = false;
    res.on('close', () => {
      if (!res.writableFinished) {
        gone = true;
        this.aborted++;
      }
    });
    const send = (chunk: unknown) => res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    const frame = (delta: unknown, extra: Record<string, unknown> = {}) => ({
      id: 'cmpl-1',
      object: 'chat.completion.chunk',
      model: body.model,
      choices: [{ index: 0, delta, finish_reason: null }],
      ...extra,
    });
    const pause = () => new Promise((r) => setTimeout(r, this.chunkDelayMs));
    if (body.model === 'endless/model') {
      for (let i = 0; !gone && i < 100_000; i++) {
        send(frame({ content: `tick ${i} ` }));
        await pause();
      }
      return;
    }
    if (toolCall) {
      send(
        frame({
          role: 'assistant',
          tool_calls: [
            {
              index: 0,
              id: toolCall.id,
              type: 'function',
              function: { name: toolCall.function.name, arguments: '' },
            },
          ],
        }),
      );
      for (const piece of ['{"city"', ':"Par', 'is"}']) {
        await pause();
        send(frame({ tool_calls: [{ index: 0, function: { arguments: piece } }] }));
      }
    } else {
      for (const word of REPLY.split(/(?<= )/)) {
        if (gone) return;
        send(frame({ content: word }));
        await pause();
      }
    }
    if (body.stream_options?.include_usage)
      send({
        id: 'cmpl-1',
        object: 'chat.completion.chunk',
        model: body.model,
        choices: [],
        usage,
      });
    res.end('data: [DONE]\n\n');
  }
}
