import { Router, type Request, type Response } from 'express';
import type OpenAI from 'openai';
import { z } from 'zod';
import type { Database } from '../core/db.js';
import { principalOf, requireAdmin, requireUser } from '../core/auth/principal.js';
import { listPage } from '../core/paging.js';
import {
  MODALITIES,
  estimateTokens,
  upstreamError,
  usageFrom,
  usageOrEstimate,
  type AiGateway,
  type Usage,
} from './service.js';

const contentPart = z.looseObject({ type: z.string().min(1) });
const message = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
});
const tool = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({ name: z.string().min(1).max(64) }),
});
const chatRequest = z.object({
  model: z.string().min(1).max(200).optional(),
  messages: z.array(message).min(1).max(1000),
  temperature: z.number().min(0).max(2).optional(),
  maxTokens: z.number().int().positive().max(1_000_000).optional(),
  topP: z.number().min(0).max(1).optional(),
  stream: z.boolean().optional(),
  tools: z.array(tool).max(128).optional(),
  toolChoice: z
    .union([z.enum(['auto', 'none', 'required']), z.looseObject({ type: z.literal('function') })])
    .optional(),
  parallelToolCalls: z.boolean().optional(),
  webSearch: z
    .looseObject({
      enabled: z.boolean().optional(),
      maxResults: z.number().int().positive().max(100).optional(),
      engine: z.string().optional(),
      searchPrompt: z.string().optional(),
    })
    .optional(),
  fileParser: z
    .looseObject({ enabled: z.boolean().optional(), pdf: z.unknown().optional() })
    .optional(),
  thinking: z.boolean().optional(),
});
type ChatRequest = z.infer<typeof chatRequest>;

const embeddingsRequest = z.object({
  model: z.string().min(1).max(200).optional(),
  input: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(2048)]),
  dimensions: z.number().int().positive().max(16_384).optional(),
  encoding_format: z.enum(['float', 'base64']).optional(),
});

const imageRequest = z.object({
  model: z.string().min(1).max(200).optional(),
  prompt: z.string().min(1).max(32_000),
  images: z
    .array(z.object({ url: z.string().min(1) }))
    .max(16)
    .optional(),
  size: z.string().max(32).optional(),
  n: z.number().int().min(1).max(10).optional(),
});

const modelList = z.array(z.string().min(1).max(200)).max(500);
const configPatch = z.object({
  enabledModels: z
    .object({ chat: modelList, embedding: modelList, image: modelList })
    .partial()
    .optional(),
  defaultModels: z
    .object({
      chat: z.string().min(1).nullable(),
      embedding: z.string().min(1).nullable(),
      image: z.string().min(1).nullable(),
    })
    .partial()
    .optional(),
  systemPrompt: z.string().max(100_000).nullable().optional(),
  /** Per user; a number (0 = unlimited) or null = the server default (AI_USER_DAILY_*). */
  limits: z
    .object({
      requestsPerMinute: z.number().int().min(0).max(2_000_000_000).nullable(),
      requestsPerDay: z.number().int().min(0).max(2_000_000_000).nullable(),
      tokensPerDay: z.number().int().min(0).max(2_000_000_000).nullable(),
      imagesPerDay: z.number().int().min(0).max(2_000_000_000).nullable(),
    })
    .partial()
    .optional(),
});

const usageQuery = z.object({
  userId: z.guid().optional(),
  model: z.string().max(200).optional(),
  modality: z.enum(['chat', 'embedding', 'image']).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

/** An answer length every chat model accepts as max_tokens. */
const SAFE_MAX_TOKENS = 4096;

/** The upstream request for a chat, with OpenRouter's plugins where asked for. */
function chatBody(p: ChatRequest, model: string, systemPrompt: string | null) {
  const plugins: Record<string, unknown>[] = [];
  if (p.webSearch?.enabled) {
    plugins.push({
      id: 'web',
      ...(p.webSearch.maxResults ? { max_results: p.webSearch.maxResults } : {}),
      ...(p.webSearch.engine ? { engine: p.webSearch.engine } : {}),
      ...(p.webSearch.searchPrompt ? { search_prompt: p.webSearch.searchPrompt } : {}),
    });
  }
  if (p.fileParser?.enabled) {
    plugins.push({ id: 'file-parser', ...(p.fileParser.pdf ? { pdf: p.fileParser.pdf } : {}) });
  }
  const messages = systemPrompt
    ? [{ role: 'system', content: systemPrompt }, ...p.messages]
    : p.messages;
  return {
    model,
    messages,
    temperature: p.temperature,
    max_tokens: p.maxTokens,
    top_p: p.topP,
    ...(p.tools?.length
      ? {
          tools: p.tools,
          tool_choice: p.toolChoice,
          parallel_tool_calls: p.parallelToolCalls,
        }
      : {}),
    ...(plugins.length ? { plugins } : {}),
    ...(p.thinking ? { reasoning: { enabled: true } } : {}),
  } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming;
}

/** Aborts the upstream call when the caller goes away before the answer is complete. */
function abortOnDisconnect(res: Response): AbortController {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller;
}

export function aiRoutes(ai: AiGateway, db: Database): Router {
  const router = Router();

  // ---- relays (signed-in users and admins) ----------------------------------------------------

  router.post('/chat/completion', requireUser, async (req: Request, res: Response) => {
    const body = chatRequest.parse(req.body);
    const principal = principalOf(req);
    const userId = principal.role === 'authenticated' ? principal.sub : undefined;
    const client = ai.client();
    const cfg = await ai.config();
    const model = await ai.resolveModel('chat', body.model, cfg);
    const upstreamBody = chatBody(body, model, cfg.systemPrompt);
    const { tokensLeft, reservation } = await ai.checkLimits(userId, cfg, 'chat', model, 0, {
      promptTokens: estimateTokens(JSON.stringify(upstreamBody.messages)),
      maxTokens: body.maxTokens,
    });
    // A user's answer ends where what the call reserved of the allowance does. Sent upstream when
    // the client set maxTokens (never more than it asked) or when the reservation is small:
    // some upstreams refuse a max_tokens above the model's output limit, and every chat model
    // answers 4096 tokens, so a big reservation never replaces an unset maxTokens.
    if (tokensLeft !== undefined && (body.maxTokens !== undefined || tokensLeft < SAFE_MAX_TOKENS))
      upstreamBody.max_tokens = tokensLeft;
    const controller = abortOnDisconnect(res);

    if (!body.stream) {
      let completion: OpenAI.ChatCompletion;
      try {
        completion = await client.chat.completions.create(upstreamBody, {
          signal: controller.signal,
        });
      } catch (err) {
        await ai.record({ userId, model, modality: 'chat', status: 'error', reservation });
        throw upstreamError(err);
      }
      const msg = completion.choices[0]?.message as
        (OpenAI.ChatCompletionMessage & { annotations?: unknown[] }) | undefined;
      const usage = usageOrEstimate(
        completion.usage ? usageFrom(completion.usage) : undefined,
        upstreamBody.messages,
        (msg?.content ?? '') + JSON.stringify(msg?.tool_calls ?? ''),
      );
      await ai.record({ userId, model, modality: 'chat', usage, reservation });
      res.json({
        text: msg?.content ?? '',
        ...(msg?.tool_calls?.length ? { tool_calls: msg.tool_calls } : {}),
        ...(msg?.annotations?.length ? { annotations: msg.annotations } : {}),
        metadata: { model: completion.model || model, usage },
      });
      return;
    }

    // Streaming: open the upstream stream first, so its refusal is an ordinary error answer.
    let stream: AsyncIterable<OpenAI.ChatCompletionChunk>;
    try {
      stream = await client.chat.completions.create(
        {
          ...(upstreamBody as unknown as OpenAI.ChatCompletionCreateParamsStreaming),
          stream: true,
          stream_options: { include_usage: true },
        },
        { signal: controller.signal },
      );
    } catch (err) {
      await ai.record({ userId, model, modality: 'chat', status: 'error', reservation });
      throw upstreamError(err);
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    const send = async (event: unknown) => {
      if (res.destroyed) return;
      if (!res.write(`data: ${JSON.stringify(event)}\n\n`)) {
        // Wait for the socket, unless the caller is gone (then the loop ends on the abort).
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
          if (res.destroyed) done();
        });
      }
    };
    const calls = new Map<
      number,
      { id: string; type: 'function'; function: { name: string; arguments: string } }
    >();
    let usage: Usage | undefined;
    // What reached the caller: counted when the upstream's usage never arrives (the caller
    // left before the last chunk), so ending a stream early does not make it free.
    let received = '';
    let status: 'ok' | 'error' | 'aborted' = 'ok';
    try {
      for await (const chunk of stream) {
        if (controller.signal.aborted) break;
        const delta = chunk.choices[0]?.delta;
        if (delta?.content) {
          received += delta.content;
          await send({ chunk: delta.content });
        }
        for (const tc of delta?.tool_calls ?? []) {
          const call = calls.get(tc.index) ?? {
            id: '',
            type: 'function' as const,
            function: { name: '', arguments: '' },
          };
          if (tc.id) call.id = tc.id;
          if (tc.function?.name) call.function.name += tc.function.name;
          if (tc.function?.arguments) {
            call.function.arguments += tc.function.arguments;
            received += tc.function.arguments;
          }
          calls.set(tc.index, call);
        }
        if (chunk.usage) usage = usageFrom(chunk.usage);
      }
      if (controller.signal.aborted) throw new Error('The caller went away');
      if (calls.size) {
        await send({
          tool_calls: [...calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => c),
        });
      }
      if (usage) await send({ tokenUsage: usage });
      await send({ done: true });
    } catch (err) {
      if (controller.signal.aborted) status = 'aborted';
      else {
        status = 'error';
        await send({ error: true, message: upstreamError(err).message }).catch(() => undefined);
      }
    } finally {
      res.end();
      await ai.record({
        userId,
        model,
        modality: 'chat',
        usage: usageOrEstimate(usage, upstreamBody.messages, received),
        status,
        reservation,
      });
    }
  });

  router.post('/embeddings', requireUser, async (req: Request, res: Response) => {
    const body = embeddingsRequest.parse(req.body);
    const principal = principalOf(req);
    const userId = principal.role === 'authenticated' ? principal.sub : undefined;
    const client = ai.client();
    const cfg = await ai.config();
    const model = await ai.resolveModel('embedding', body.model, cfg);
    const { reservation } = await ai.checkLimits(userId, cfg, 'embedding', model, 0, {
      promptTokens: estimateTokens(JSON.stringify(body.input)),
    });
    const controller = abortOnDisconnect(res);
    let result: OpenAI.CreateEmbeddingResponse;
    try {
      result = await client.embeddings.create(
        {
          model,
          input: body.input,
          ...(body.dimensions ? { dimensions: body.dimensions } : {}),
          ...(body.encoding_format ? { encoding_format: body.encoding_format } : {}),
        },
        { signal: controller.signal },
      );
    } catch (err) {
      await ai.record({ userId, model, modality: 'embedding', status: 'error', reservation });
      throw upstreamError(err);
    }
    const usage = usageOrEstimate(
      result.usage
        ? {
            promptTokens: result.usage.prompt_tokens ?? 0,
            completionTokens: 0,
            totalTokens: result.usage.total_tokens ?? result.usage.prompt_tokens ?? 0,
          }
        : undefined,
      body.input,
      '',
    );
    await ai.record({ userId, model, modality: 'embedding', usage, reservation });
    res.json({
      object: 'list',
      data: result.data.map((d) => ({
        object: 'embedding',
        embedding: d.embedding,
        index: d.index,
      })),
      metadata: {
        model: result.model || model,
        usage: { promptTokens: usage.promptTokens, totalTokens: usage.totalTokens },
      },
    });
  });

  router.post('/image/generation', requireUser, async (req: Request, res: Response) => {
    const body = imageRequest.parse(req.body);
    const principal = principalOf(req);
    const userId = principal.role === 'authenticated' ? principal.sub : undefined;
    const client = ai.client();
    const cfg = await ai.config();
    const model = await ai.resolveModel('image', body.model, cfg);
    const { reservation } = await ai.checkLimits(userId, cfg, 'image', model, body.n ?? 1);
    const controller = abortOnDisconnect(res);
    let text: string | undefined;
    let images: { type: 'imageUrl'; imageUrl: string }[] = [];
    let usage: Usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
    try {
      if (ai.options.imageApi === 'images') {
        const r = await client.images.generate(
          {
            model,
            prompt: body.prompt,
            ...(body.size ? { size: body.size as OpenAI.ImageGenerateParams['size'] } : {}),
            ...(body.n ? { n: body.n } : {}),
          },
          { signal: controller.signal },
        );
        images = (r.data ?? []).map((d) => ({
          type: 'imageUrl' as const,
          imageUrl: d.url ?? `data:image/png;base64,${d.b64_json}`,
        }));
        usage = {
          promptTokens: r.usage?.input_tokens ?? 0,
          completionTokens: r.usage?.output_tokens ?? 0,
          totalTokens: r.usage?.total_tokens ?? 0,
        };
      } else {
        // OpenRouter: a chat completion asking for image output.
        const content = body.images?.length
          ? [
              { type: 'text', text: body.prompt },
              ...body.images.map((i) => ({ type: 'image_url', image_url: { url: i.url } })),
            ]
          : body.prompt;
        const r = await client.chat.completions.create(
          {
            model,
            messages: [{ role: 'user', content }],
            modalities: ['image', 'text'],
          } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming,
          { signal: controller.signal },
        );
        const msg = r.choices[0]?.message as
          | (OpenAI.ChatCompletionMessage & { images?: { image_url?: { url?: string } }[] })
          | undefined;
        text = msg?.content || undefined;
        images = (msg?.images ?? [])
          .map((i) => i.image_url?.url)
          .filter((u): u is string => Boolean(u))
          .map((imageUrl) => ({ type: 'imageUrl' as const, imageUrl }));
        usage = usageFrom(r.usage);
      }
    } catch (err) {
      await ai.record({ userId, model, modality: 'image', status: 'error', reservation });
      throw upstreamError(err);
    }
    await ai.record({
      userId,
      model,
      modality: 'image',
      usage,
      images: images.length,
      reservation,
    });
    res.json({ ...(text ? { text } : {}), images, metadata: { model, usage } });
  });

  // ---- administration -------------------------------------------------------------------------

  router.get('/config', requireAdmin, async (_req, res) => {
    res.json({
      ...(await ai.config()),
      upstream: { configured: ai.configured, baseUrl: ai.options.baseUrl },
    });
  });
  router.put('/config', requireAdmin, async (req, res) => {
    res.json(await ai.updateConfig(configPatch.parse(req.body)));
  });
  router.get('/models', requireAdmin, async (_req, res) => {
    let models;
    try {
      models = await ai.listModels();
    } catch (err) {
      throw upstreamError(err);
    }
    const cfg = await ai.config();
    res.json({
      models: models.map((m) => ({
        ...m,
        enabled: Object.fromEntries(
          MODALITIES.map((k) => [
            k,
            !cfg.enabledModels[k].length || cfg.enabledModels[k].includes(m.id),
          ]),
        ),
      })),
    });
  });
  router.get('/overview', requireAdmin, async (req, res) => {
    const days = z.coerce.number().int().min(1).max(365).default(30).parse(req.query.days);
    const since = `${days} days`;
    const [totals, byModel, byUser, byDay] = await Promise.all([
      db.query(
        `SELECT count(*)::int AS requests, coalesce(sum(prompt_tokens),0)::int AS "promptTokens",
                coalesce(sum(completion_tokens),0)::int AS "completionTokens",
                coalesce(sum(total_tokens),0)::int AS "totalTokens", coalesce(sum(images),0)::int AS images,
                count(*) FILTER (WHERE status <> 'ok')::int AS failures
           FROM ai.usage WHERE created_at > now() - $1::interval`,
        [since],
      ),
      db.query(
        `SELECT model, modality, count(*)::int AS requests, coalesce(sum(total_tokens),0)::int AS "totalTokens",
                coalesce(sum(images),0)::int AS images
           FROM ai.usage WHERE created_at > now() - $1::interval
          GROUP BY model, modality ORDER BY requests DESC LIMIT 100`,
        [since],
      ),
      db.query(
        `SELECT u.user_id AS "userId", a.email, count(*)::int AS requests,
                coalesce(sum(u.total_tokens),0)::int AS "totalTokens", coalesce(sum(u.images),0)::int AS images
           FROM ai.usage u LEFT JOIN auth.users a ON a.id = u.user_id
          WHERE u.created_at > now() - $1::interval
          GROUP BY u.user_id, a.email ORDER BY requests DESC LIMIT 50`,
        [since],
      ),
      db.query(
        `SELECT to_char(date_trunc('day', created_at), 'YYYY-MM-DD') AS day, count(*)::int AS requests,
                coalesce(sum(total_tokens),0)::int AS "totalTokens"
           FROM ai.usage WHERE created_at > now() - $1::interval GROUP BY 1 ORDER BY 1`,
        [since],
      ),
    ]);
    res.json({
      days,
      totals: totals.rows[0],
      byModel: byModel.rows,
      byUser: byUser.rows,
      byDay: byDay.rows,
    });
  });
  router.get('/usage', requireAdmin, async (req, res) => {
    const q = usageQuery.parse(req.query);
    const where = `($1::uuid IS NULL OR user_id = $1) AND ($2::text IS NULL OR model = $2)
      AND ($3::text IS NULL OR modality = $3) AND ($4::timestamptz IS NULL OR created_at >= $4)
      AND ($5::timestamptz IS NULL OR created_at < $5)`;
    const params = [
      q.userId ?? null,
      q.model ?? null,
      q.modality ?? null,
      q.from ?? null,
      q.to ?? null,
    ];
    const page = await listPage(db, {
      select: `id::text, user_id AS "userId", model, modality, prompt_tokens AS "promptTokens",
               completion_tokens AS "completionTokens", total_tokens AS "totalTokens", images,
               status, created_at AS "createdAt"`,
      from: 'ai.usage',
      where,
      params,
      orderBy: 'created_at DESC, id DESC',
      limit: q.limit,
      offset: q.offset,
    });
    res.json({ data: page.rows, pagination: page.pagination });
  });

  return router;
}
