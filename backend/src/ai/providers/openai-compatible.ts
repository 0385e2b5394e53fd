/**
 * An OpenAI-compatible upstream (OpenRouter by default, OpenAI, or a local server such as Ollama),
 * through the `openai` client. Images come from a chat completion with image output (OpenRouter,
 * AI_IMAGE_API=chat) or from /images/generations (AI_IMAGE_API=images).
 */
import OpenAI from 'openai';
import { AppError } from '../../core/errors.js';
import {
  maskKey,
  usageFrom,
  type AiProvider,
  type ImageRequest,
  type ImageResult,
  type ModelInfo,
} from './provider.js';

export interface OpenAiCompatibleOptions {
  apiKey: string | undefined;
  baseUrl: string;
  timeoutMs: number;
  /** How images are made: chat completions with image output (OpenRouter) or /images/generations. */
  imageApi: 'chat' | 'images';
}

/** The upstream's own words, without the status prefix the client adds. */
function upstreamMessage(err: InstanceType<typeof OpenAI.APIError>): string {
  const body = err.error as { message?: unknown } | undefined;
  if (body && typeof body.message === 'string') return body.message;
  return err.message.replace(/^\d{3}\s+/, '') || `status ${err.status}`;
}

/** Every upstream failure as our envelope: never a bare 500. */
export function upstreamError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    return new AppError(504, 'AI_UPSTREAM_TIMEOUT', 'The AI upstream did not answer in time');
  }
  if (err instanceof OpenAI.APIConnectionError) {
    return new AppError(
      503,
      'AI_UPSTREAM_UNAVAILABLE',
      `The AI upstream cannot be reached: ${err.message}`,
    );
  }
  if (err instanceof OpenAI.APIError) {
    const message = upstreamMessage(err);
    const status = err.status ?? 502;
    if (status === 401 || status === 403) {
      return new AppError(
        503,
        'AI_UPSTREAM_UNAVAILABLE',
        // Not the upstream's own words: they can quote (part of) the key.
        'The AI upstream refused the configured key',
        'Check OPENROUTER_API_KEY (or AI_API_KEY)',
      );
    }
    if (status === 404) return new AppError(400, 'AI_INVALID_MODEL', message);
    if (status === 429)
      return new AppError(429, 'AI_RATE_LIMITED', `The AI upstream is busy: ${message}`);
    if (status < 500) return new AppError(400, 'AI_UPSTREAM_REJECTED', message);
    return new AppError(502, 'AI_UPSTREAM_ERROR', message);
  }
  return new AppError(502, 'AI_UPSTREAM_ERROR', err instanceof Error ? err.message : String(err));
}

export class OpenAiCompatibleProvider implements AiProvider {
  private readonly client: OpenAI;

  constructor(private readonly options: OpenAiCompatibleOptions) {
    this.client = new OpenAI({
      apiKey: options.apiKey ?? 'none',
      baseURL: options.baseUrl,
      timeout: options.timeoutMs,
      maxRetries: 0,
    });
  }

  get maskedKey(): string | null {
    return this.options.apiKey ? maskKey(this.options.apiKey) : null;
  }

  async listModels(): Promise<ModelInfo[]> {
    const out: ModelInfo[] = [];
    for await (const m of this.client.models.list()) {
      const extra = m as unknown as {
        name?: string;
        architecture?: { input_modalities?: string[]; output_modalities?: string[] };
      };
      out.push({
        id: m.id,
        name: extra.name ?? m.id,
        inputModalities: extra.architecture?.input_modalities ?? ['text'],
        outputModalities: extra.architecture?.output_modalities ?? ['text'],
      });
    }
    return out;
  }

  chat(
    body: OpenAI.ChatCompletionCreateParamsNonStreaming,
    signal: AbortSignal,
  ): Promise<OpenAI.ChatCompletion> {
    return this.client.chat.completions.create(body, { signal });
  }

  async chatStream(
    body: OpenAI.ChatCompletionCreateParamsNonStreaming,
    signal: AbortSignal,
  ): Promise<AsyncIterable<OpenAI.ChatCompletionChunk>> {
    return this.client.chat.completions.create(
      {
        ...(body as unknown as OpenAI.ChatCompletionCreateParamsStreaming),
        stream: true,
        stream_options: { include_usage: true },
      },
      { signal },
    );
  }

  embeddings(
    params: OpenAI.EmbeddingCreateParams,
    signal: AbortSignal,
  ): Promise<OpenAI.CreateEmbeddingResponse> {
    return this.client.embeddings.create(params, { signal });
  }

  async generateImages(request: ImageRequest, signal: AbortSignal): Promise<ImageResult> {
    const { model, prompt, size, n } = request;
    if (this.options.imageApi === 'images') {
      const r = await this.client.images.generate(
        {
          model,
          prompt,
          ...(size ? { size: size as OpenAI.ImageGenerateParams['size'] } : {}),
          ...(n ? { n } : {}),
        },
        { signal },
      );
      return {
        images: (r.data ?? []).map((d) => ({
          type: 'imageUrl' as const,
          imageUrl: d.url ?? `data:image/png;base64,${d.b64_json}`,
        })),
        usage: {
          promptTokens: r.usage?.input_tokens ?? 0,
          completionTokens: r.usage?.output_tokens ?? 0,
          totalTokens: r.usage?.total_tokens ?? 0,
        },
      };
    }
    // OpenRouter: a chat completion asking for image output.
    const content = request.images?.length
      ? [
          { type: 'text', text: prompt },
          ...request.images.map((i) => ({ type: 'image_url', image_url: { url: i.url } })),
        ]
      : prompt;
    const r = await this.client.chat.completions.create(
      {
        model,
        messages: [{ role: 'user', content }],
        modalities: ['image', 'text'],
      } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming,
      { signal },
    );
    const msg = r.choices[0]?.message as
      (OpenAI.ChatCompletionMessage & { images?: { image_url?: { url?: string } }[] }) | undefined;
    const text = msg?.content || undefined;
    return {
      ...(text ? { text } : {}),
      images: (msg?.images ?? [])
        .map((i) => i.image_url?.url)
        .filter((u): u is string => Boolean(u))
        .map((imageUrl) => ({ type: 'imageUrl' as const, imageUrl })),
      usage: usageFrom(r.usage),
    };
  }

  error(err: unknown): AppError {
    return upstreamError(err);
  }
}
