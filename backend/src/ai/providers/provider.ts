/**
 * What the AI gateway needs of an upstream. Chat and embeddings speak the OpenAI wire format
 * (Kiln's own API mirrors it); image generation is given as a plain request, since upstreams make
 * images in different ways (OpenRouter: a chat completion with image output; OpenAI: the images
 * endpoint).
 */
import type OpenAI from 'openai';
import type { AppError } from '../../core/errors.js';

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface ModelInfo {
  id: string;
  name: string;
  inputModalities: string[];
  outputModalities: string[];
}

export interface ImageRequest {
  model: string;
  prompt: string;
  size?: string;
  n?: number;
  /** Input images (URLs or data URLs), where the upstream takes them. */
  images?: { url: string }[];
}

export interface ImageResult {
  text?: string;
  images: { type: 'imageUrl'; imageUrl: string }[];
  usage: Usage;
}

export interface AiProvider {
  /** The key this upstream is called with, masked for display (never the key); null: none. */
  readonly maskedKey: string | null;
  /** The upstream's models (uncached: the gateway caches them). */
  listModels(): Promise<ModelInfo[]>;
  chat(
    body: OpenAI.ChatCompletionCreateParamsNonStreaming,
    signal: AbortSignal,
  ): Promise<OpenAI.ChatCompletion>;
  /** Opens a streamed chat; a refusal rejects here, before any chunk. */
  chatStream(
    body: OpenAI.ChatCompletionCreateParamsNonStreaming,
    signal: AbortSignal,
  ): Promise<AsyncIterable<OpenAI.ChatCompletionChunk>>;
  embeddings(
    params: OpenAI.EmbeddingCreateParams,
    signal: AbortSignal,
  ): Promise<OpenAI.CreateEmbeddingResponse>;
  generateImages(request: ImageRequest, signal: AbortSignal): Promise<ImageResult>;
  /** Any failure of a call to this upstream as Kiln's error envelope (never a bare 500). */
  error(err: unknown): AppError;
}

/**
 * A key as shown to admins: its first three and last four characters around a fixed run of
 * asterisks (the length is not told); a key under 16 characters shows nothing of itself.
 */
export function maskKey(key: string): string {
  return key.length < 16 ? '*'.repeat(8) : `${key.slice(0, 3)}${'*'.repeat(8)}${key.slice(-4)}`;
}

/** Usage as the OpenAI wire format reports it (chat completions and their last stream chunk). */
export function usageFrom(u: OpenAI.CompletionUsage | undefined | null): Usage {
  return {
    promptTokens: u?.prompt_tokens ?? 0,
    completionTokens: u?.completion_tokens ?? 0,
    totalTokens: u?.total_tokens ?? (u?.prompt_tokens ?? 0) + (u?.completion_tokens ?? 0),
  };
}
