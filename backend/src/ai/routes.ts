import type { Response } from 'express';
import type OpenAI from 'openai';
import {
  aiChatRequestSchema,
  aiChatResponseSchema,
  aiConfigResponseSchema,
  aiConfigSchema,
  aiEmbeddingsRequestSchema,
  aiEmbeddingsResponseSchema,
  aiImageRequestSchema,
  aiImageResponseSchema,
  aiModelsResponseSchema,
  aiOverviewQuerySchema,
  aiOverviewResponseSchema,
  aiProviderKeyResponseSchema,
  aiProviderParamsSchema,
  aiUsageQuerySchema,
  aiUsageResponseSchema,
  updateAiConfigRequestSchema,
  type AiChatRequest,
} from '@kiln/shared-schemas';
import { AppError } from '../core/errors.js';
import { route, type RouteGroup } from '../core/route.js';
import type { AiUsageReports } from './usage.js';
import {
  estimateTokens,
  usageFrom,
  usageOrEstimate,
  type AiGateway,
  type Usage,
} from './service.js';
import type { ImageResult } from './providers/provider.js';

type ChatRequest = AiChatRequest;

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

/** Errors of a call relayed to the AI upstream (its refusals, limits, absence). */
const UPSTREAM_ERRORS = {
  400: ['AI_INVALID_MODEL', 'AI_UPSTREAM_REJECTED'],
  429: ['AI_RATE_LIMITED'],
  502: ['AI_UPSTREAM_ERROR'],
  503: ['AI_UPSTREAM_UNAVAILABLE'],
  504: ['AI_UPSTREAM_TIMEOUT'],
} as const;
/** A user's call beyond the allowances (AI_USER_DAILY_*, limits in PUT /api/ai/config). */
const RELAY_ERRORS = {
  ...UPSTREAM_ERRORS,
  429: [...UPSTREAM_ERRORS[429], 'AI_USAGE_LIMIT_EXCEEDED'],
} as const;

/**
 * The AI gateway, mounted at /api/ai: relays for signed-in users and admins (chat, embeddings,
 * images), and its administration (settings, models, usage).
 */
export function aiRoutes(ai: AiGateway, reports: AiUsageReports): RouteGroup {
  const chat = route({
    method: 'post',
    path: '/chat/completion',
    access: 'user',
    summary: 'Chat completion (stream: true answers Server-Sent Events)',
    body: aiChatRequestSchema,
    responses: {
      200: {
        description: 'The answer (JSON), or its events (text/event-stream) when streamed',
        schema: aiChatResponseSchema,
        content: ['json', 'sse'],
      },
    },
    errors: RELAY_ERRORS,
    handler: async ({ body, principal, res }) => {
      const userId = principal.role === 'authenticated' ? principal.sub : undefined;
      const provider = ai.provider();
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
      if (
        tokensLeft !== undefined &&
        (body.maxTokens !== undefined || tokensLeft < SAFE_MAX_TOKENS)
      )
        upstreamBody.max_tokens = tokensLeft;
      const controller = abortOnDisconnect(res);

      if (!body.stream) {
        let completion: OpenAI.ChatCompletion;
        try {
          completion = await provider.chat(upstreamBody, controller.signal);
        } catch (err) {
          await ai.record({ userId, model, modality: 'chat', status: 'error', reservation });
          throw provider.error(err);
        }
        const msg = completion.choices[0]?.message as
          (OpenAI.ChatCompletionMessage & { annotations?: unknown[] }) | undefined;
        const usage = usageOrEstimate(
          completion.usage ? usageFrom(completion.usage) : undefined,
          upstreamBody.messages,
          (msg?.content ?? '') + JSON.stringify(msg?.tool_calls ?? ''),
        );
        await ai.record({ userId, model, modality: 'chat', usage, reservation });
        return {
          text: msg?.content ?? '',
          ...(msg?.tool_calls?.length ? { tool_calls: msg.tool_calls } : {}),
          ...(msg?.annotations?.length ? { annotations: msg.annotations } : {}),
          metadata: { model: completion.model || model, usage },
        };
      }

      // Streaming: open the upstream stream first, so its refusal is an ordinary error answer.
      let stream: AsyncIterable<OpenAI.ChatCompletionChunk>;
      try {
        stream = await provider.chatStream(upstreamBody, controller.signal);
      } catch (err) {
        await ai.record({ userId, model, modality: 'chat', status: 'error', reservation });
        throw provider.error(err);
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
          await send({ error: true, message: provider.error(err).message }).catch(() => undefined);
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
    },
  });

  const embeddings = route({
    method: 'post',
    path: '/embeddings',
    access: 'user',
    summary: 'Embeddings of one or more texts',
    body: aiEmbeddingsRequestSchema,
    responses: { 200: aiEmbeddingsResponseSchema },
    errors: RELAY_ERRORS,
    handler: async ({ body, principal, res }) => {
      const userId = principal.role === 'authenticated' ? principal.sub : undefined;
      const provider = ai.provider();
      const cfg = await ai.config();
      const model = await ai.resolveModel('embedding', body.model, cfg);
      const { reservation } = await ai.checkLimits(userId, cfg, 'embedding', model, 0, {
        promptTokens: estimateTokens(JSON.stringify(body.input)),
      });
      const controller = abortOnDisconnect(res);
      let result: OpenAI.CreateEmbeddingResponse;
      try {
        result = await provider.embeddings(
          {
            model,
            input: body.input,
            ...(body.dimensions ? { dimensions: body.dimensions } : {}),
            ...(body.encoding_format ? { encoding_format: body.encoding_format } : {}),
          },
          controller.signal,
        );
      } catch (err) {
        await ai.record({ userId, model, modality: 'embedding', status: 'error', reservation });
        throw provider.error(err);
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
      return {
        object: 'list' as const,
        data: result.data.map((d) => ({
          object: 'embedding' as const,
          embedding: d.embedding,
          index: d.index,
        })),
        metadata: {
          model: result.model || model,
          usage: { promptTokens: usage.promptTokens, totalTokens: usage.totalTokens },
        },
      };
    },
  });

  const image = route({
    method: 'post',
    path: '/image/generation',
    access: 'user',
    summary: 'Generate images from a prompt (and input images)',
    body: aiImageRequestSchema,
    responses: { 200: aiImageResponseSchema },
    errors: RELAY_ERRORS,
    handler: async ({ body, principal, res }) => {
      const userId = principal.role === 'authenticated' ? principal.sub : undefined;
      const provider = ai.provider();
      const cfg = await ai.config();
      const model = await ai.resolveModel('image', body.model, cfg);
      const { reservation } = await ai.checkLimits(userId, cfg, 'image', model, body.n ?? 1);
      const controller = abortOnDisconnect(res);
      let result: ImageResult;
      try {
        result = await provider.generateImages(
          {
            model,
            prompt: body.prompt,
            ...(body.size ? { size: body.size } : {}),
            ...(body.n ? { n: body.n } : {}),
            ...(body.images?.length ? { images: body.images } : {}),
          },
          controller.signal,
        );
      } catch (err) {
        await ai.record({ userId, model, modality: 'image', status: 'error', reservation });
        throw provider.error(err);
      }
      const { text, images, usage } = result;
      await ai.record({
        userId,
        model,
        modality: 'image',
        usage,
        images: images.length,
        reservation,
      });
      return { ...(text ? { text } : {}), images, metadata: { model, usage } };
    },
  });

  return {
    tag: 'ai',
    routes: [
      chat,
      embeddings,
      image,
      route({
        method: 'get',
        path: '/config',
        access: 'admin',
        summary: 'AI settings, and whether an upstream is configured',
        responses: { 200: aiConfigResponseSchema },
        handler: async () => {
          const maskedKey = ai.options.provider?.maskedKey ?? null;
          return {
            ...(await ai.config()),
            upstream: { configured: ai.configured, baseUrl: ai.options.baseUrl },
            apiKey: { configured: maskedKey !== null, maskedKey },
            managementKey: { configured: false, maskedKey: null },
          };
        },
      }),
      route({
        method: 'put',
        path: '/config',
        access: 'admin',
        summary: 'Change the enabled and default models, the system prompt and the user limits',
        body: updateAiConfigRequestSchema,
        responses: { 200: aiConfigSchema },
        errors: { 400: ['AI_INVALID_MODEL'] },
        handler: ({ body }) => ai.updateConfig(body),
      }),
      route({
        method: 'get',
        path: '/models',
        access: 'admin',
        summary: 'The upstream’s models, and for which modalities each is enabled',
        responses: { 200: aiModelsResponseSchema },
        errors: UPSTREAM_ERRORS,
        handler: async () => {
          let models;
          try {
            models = await ai.listModels();
          } catch (err) {
            throw ai.upstreamError(err);
          }
          const cfg = await ai.config();
          return models.map((m) => ({
            ...m,
            provider: m.id.includes('/') ? m.id.slice(0, m.id.indexOf('/')) : 'openrouter',
            modelId: m.id,
            inputModality: m.inputModalities.length ? m.inputModalities : ['text'],
            outputModality: m.outputModalities.length ? m.outputModalities : ['text'],
            enabled: {
              chat: !cfg.enabledModels.chat.length || cfg.enabledModels.chat.includes(m.id),
              embedding:
                !cfg.enabledModels.embedding.length || cfg.enabledModels.embedding.includes(m.id),
              image: !cfg.enabledModels.image.length || cfg.enabledModels.image.includes(m.id),
            },
          }));
        },
      }),
      route({
        method: 'get',
        path: '/:provider/api-key',
        access: 'admin',
        summary: 'The key Kiln calls the AI upstream with, masked (never the key itself)',
        description:
          "InsForge's provider-key read. Kiln's key is a server setting (`OPENROUTER_API_KEY` or " +
          '`AI_API_KEY`): this answers its first and last characters, for an admin to tell which ' +
          'key is in use. 400 `AI_KEY_NOT_CONFIGURED` when no key is set.',
        params: aiProviderParamsSchema,
        responses: { 200: aiProviderKeyResponseSchema },
        errors: { 400: ['AI_KEY_NOT_CONFIGURED'] },
        handler: ({ params }) => {
          const maskedKey = ai.options.provider?.maskedKey;
          if (!maskedKey)
            throw new AppError(
              400,
              'AI_KEY_NOT_CONFIGURED',
              ai.configured
                ? `The AI upstream at ${ai.options.baseUrl} is called without a key`
                : 'No AI upstream key is configured',
              'Set OPENROUTER_API_KEY (or AI_API_KEY) and restart',
            );
          return { provider: params.provider, maskedKey, baseUrl: ai.options.baseUrl };
        },
      }),
      route({
        method: 'post',
        path: '/:provider/api-key/rotate',
        access: 'admin',
        summary: 'Rotate the AI upstream key: not done by Kiln (400, with what to do instead)',
        description:
          "InsForge's rotation mints a new key through its cloud's management account. Kiln " +
          'holds no account at the provider, only the key it is given: rotate it at the ' +
          'provider, then set the new one in `OPENROUTER_API_KEY` (or `AI_API_KEY`) and restart. ' +
          'Always 400 `AI_KEY_ROTATION_UNSUPPORTED`; nothing changes.',
        params: aiProviderParamsSchema,
        responses: {},
        errors: { 400: ['AI_KEY_ROTATION_UNSUPPORTED'] },
        handler: () => {
          throw new AppError(
            400,
            'AI_KEY_ROTATION_UNSUPPORTED',
            'Kiln does not rotate the AI upstream key: it holds no account at the provider to mint one',
            'Create a new key at the provider, set it in OPENROUTER_API_KEY (or AI_API_KEY), restart, then revoke the old key at the provider',
          );
        },
      }),
      route({
        method: 'get',
        path: '/overview',
        access: 'admin',
        summary: 'Usage of the last days: totals, by model, by user, by day',
        query: aiOverviewQuerySchema,
        responses: { 200: aiOverviewResponseSchema },
        handler: ({ query }) => reports.overview(query.days),
      }),
      route({
        method: 'get',
        path: '/usage',
        access: 'admin',
        summary: 'Usage records, newest first, filtered',
        query: aiUsageQuerySchema,
        responses: { 200: aiUsageResponseSchema },
        handler: ({ query }) => reports.list(query),
      }),
    ],
  };
}
