import { z } from 'zod';
import { paginationSchema } from './common.js';

export const AI_MODALITIES = ['chat', 'embedding', 'image'] as const;
export const aiModalitySchema = z.enum(AI_MODALITIES);
export type AiModality = z.infer<typeof aiModalitySchema>;

const aiContentPartSchema = z.looseObject({ type: z.string().min(1) });
/** An OpenAI-style chat message (extra fields pass through to the upstream). */
export const aiChatMessageSchema = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.union([z.string(), z.array(aiContentPartSchema), z.null()]).optional(),
});
const aiToolSchema = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({ name: z.string().min(1).max(64) }),
});

/** POST /api/ai/chat/completion (`stream: true` answers Server-Sent Events). */
export const aiChatRequestSchema = z.object({
  model: z.string().min(1).max(200).optional(),
  messages: z.array(aiChatMessageSchema).min(1).max(1000),
  temperature: z.number().min(0).max(2).optional(),
  maxTokens: z.number().int().positive().max(1_000_000).optional(),
  topP: z.number().min(0).max(1).optional(),
  stream: z.boolean().optional(),
  tools: z.array(aiToolSchema).max(128).optional(),
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
export type AiChatRequest = z.infer<typeof aiChatRequestSchema>;

export const aiUsageSchema = z.object({
  promptTokens: z.number().int(),
  completionTokens: z.number().int(),
  totalTokens: z.number().int(),
});
export type AiUsage = z.infer<typeof aiUsageSchema>;

/**
 * The non-streamed answer. Streamed, each event is `data: <json>` with one of `{chunk}`,
 * `{tool_calls}`, `{tokenUsage}`, `{error, message}`, and last `{done: true}`.
 */
export const aiChatResponseSchema = z.object({
  text: z.string(),
  tool_calls: z.array(z.unknown()).optional(),
  annotations: z.array(z.unknown()).optional(),
  metadata: z.object({ model: z.string(), usage: aiUsageSchema }),
});
export type AiChatResponse = z.infer<typeof aiChatResponseSchema>;

/** POST /api/ai/embeddings */
export const aiEmbeddingsRequestSchema = z.object({
  model: z.string().min(1).max(200).optional(),
  input: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(2048)]),
  dimensions: z.number().int().positive().max(16_384).optional(),
  encoding_format: z.enum(['float', 'base64']).optional(),
});
export type AiEmbeddingsRequest = z.infer<typeof aiEmbeddingsRequestSchema>;

export const aiEmbeddingsResponseSchema = z.object({
  object: z.literal('list'),
  data: z.array(
    z.object({
      object: z.literal('embedding'),
      /** Numbers, or a base64 string with encoding_format=base64. */
      embedding: z.union([z.array(z.number()), z.string()]),
      index: z.number().int(),
    }),
  ),
  metadata: z.object({
    model: z.string(),
    usage: z.object({ promptTokens: z.number().int(), totalTokens: z.number().int() }),
  }),
});
export type AiEmbeddingsResponse = z.infer<typeof aiEmbeddingsResponseSchema>;

/** POST /api/ai/image/generation */
export const aiImageRequestSchema = z.object({
  model: z.string().min(1).max(200).optional(),
  prompt: z.string().min(1).max(32_000),
  /** Input images (image-to-image), by URL or data URL. */
  images: z
    .array(z.object({ url: z.string().min(1) }))
    .max(16)
    .optional(),
  size: z.string().max(32).optional(),
  n: z.number().int().min(1).max(10).optional(),
});
export type AiImageRequest = z.infer<typeof aiImageRequestSchema>;

export const aiImageResponseSchema = z.object({
  text: z.string().optional(),
  images: z.array(z.object({ type: z.literal('imageUrl'), imageUrl: z.string() })),
  metadata: z.object({ model: z.string(), usage: aiUsageSchema }),
});
export type AiImageResponse = z.infer<typeof aiImageResponseSchema>;

/** Per-user limits; null = unlimited (or, as set by admins, the server default). */
export const aiLimitsSchema = z.object({
  requestsPerMinute: z.number().int().nullable(),
  requestsPerDay: z.number().int().nullable(),
  tokensPerDay: z.number().int().nullable(),
  imagesPerDay: z.number().int().nullable(),
});

const modelsByModality = z.object({
  chat: z.array(z.string()),
  embedding: z.array(z.string()),
  image: z.array(z.string()),
});

/** PUT /api/ai/config: the stored settings. */
export const aiConfigSchema = z.object({
  /** Allowed models per modality; empty = whatever the upstream offers. */
  enabledModels: modelsByModality,
  defaultModels: z.object({
    chat: z.string().optional(),
    embedding: z.string().optional(),
    image: z.string().optional(),
  }),
  systemPrompt: z.string().nullable(),
  /** As set by admins: a number (0 = unlimited), or null = the server default (AI_USER_DAILY_*). */
  limits: aiLimitsSchema,
  /** What is enforced per user (null = unlimited). */
  effectiveLimits: aiLimitsSchema,
  updatedAt: z.iso.datetime(),
});
export type AiConfig = z.infer<typeof aiConfigSchema>;

/** A credential as InsForge's Model Gateway settings show it: set or not, masked. */
const aiCredentialStatusSchema = z.object({
  configured: z.boolean(),
  maskedKey: z.string().nullable(),
});

/**
 * GET /api/ai/config: the settings, whether an upstream is configured, and InsForge's credential
 * status: `apiKey` is the upstream key (a server setting), `managementKey` never set (Kiln holds
 * no provider account).
 */
export const aiConfigResponseSchema = aiConfigSchema.extend({
  upstream: z.object({ configured: z.boolean(), baseUrl: z.string() }),
  apiKey: aiCredentialStatusSchema,
  managementKey: aiCredentialStatusSchema,
});
export type AiConfigResponse = z.infer<typeof aiConfigResponseSchema>;

const aiModelList = z.array(z.string().min(1).max(200)).max(500);
const aiLimitValue = z.number().int().min(0).max(2_000_000_000).nullable();

/** PUT /api/ai/config: fields to change. */
export const updateAiConfigRequestSchema = z.object({
  enabledModels: z
    .object({ chat: aiModelList, embedding: aiModelList, image: aiModelList })
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
      requestsPerMinute: aiLimitValue,
      requestsPerDay: aiLimitValue,
      tokensPerDay: aiLimitValue,
      imagesPerDay: aiLimitValue,
    })
    .partial()
    .optional(),
  /** InsForge stores its credentials here; Kiln's key is a server setting: refused, not ignored. */
  apiKey: z
    .undefined({
      error:
        'the upstream key is a server setting: set OPENROUTER_API_KEY (or AI_API_KEY) and restart',
    })
    .optional(),
  managementKey: z.undefined({ error: 'Kiln holds no provider management key' }).optional(),
});
export type UpdateAiConfigRequest = z.infer<typeof updateAiConfigRequestSchema>;

/**
 * GET /api/ai/models: the upstream's models (a bare array, as InsForge answers), and for which
 * modalities each is enabled. `provider`/`modelId`/`inputModality`/`outputModality` are
 * InsForge's names; `inputModalities`/`outputModalities` the same lists under Kiln's.
 */
export const aiModelsResponseSchema = z.array(
  z.object({
    id: z.string(),
    name: z.string(),
    /** The part of the id before the slash (openai/gpt-4o → openai). */
    provider: z.string(),
    modelId: z.string(),
    inputModality: z.array(z.string()).min(1),
    outputModality: z.array(z.string()).min(1),
    inputModalities: z.array(z.string()),
    outputModalities: z.array(z.string()),
    enabled: z.object({ chat: z.boolean(), embedding: z.boolean(), image: z.boolean() }),
  }),
);
export type AiModelsResponse = z.infer<typeof aiModelsResponseSchema>;

/** GET /api/ai/overview */
export const aiOverviewQuerySchema = z.object({
  days: z.coerce.number().int().min(1).max(365).default(30),
});

export const aiOverviewResponseSchema = z.object({
  days: z.number().int(),
  totals: z.object({
    requests: z.number().int(),
    promptTokens: z.number().int(),
    completionTokens: z.number().int(),
    totalTokens: z.number().int(),
    images: z.number().int(),
    failures: z.number().int(),
  }),
  byModel: z.array(
    z.object({
      model: z.string(),
      modality: aiModalitySchema,
      requests: z.number().int(),
      totalTokens: z.number().int(),
      images: z.number().int(),
    }),
  ),
  byUser: z.array(
    z.object({
      userId: z.string().nullable(),
      email: z.string().nullable(),
      requests: z.number().int(),
      totalTokens: z.number().int(),
      images: z.number().int(),
    }),
  ),
  byDay: z.array(
    z.object({ day: z.string(), requests: z.number().int(), totalTokens: z.number().int() }),
  ),
  /** Each day's requests and tokens per model, newest day first (at most 5000 rows). */
  byDayModel: z.array(
    z.object({
      day: z.string(),
      model: z.string(),
      requests: z.number().int(),
      totalTokens: z.number().int(),
    }),
  ),
  /** Each day's requests and tokens per user, newest day first (at most 5000 rows; userId null: admins and the API key). */
  byDayUser: z.array(
    z.object({
      day: z.string(),
      userId: z.string().nullable(),
      email: z.string().nullable(),
      requests: z.number().int(),
      totalTokens: z.number().int(),
    }),
  ),
  /**
   * InsForge's charts: requests and tokens per day (byDay, labelled YYYY-MM-DD). `spend` is
   * empty: Kiln records tokens, not prices.
   */
  charts: z.object({
    spend: z.array(z.object({ label: z.string(), value: z.number() })),
    requests: z.array(z.object({ label: z.string(), value: z.number() })),
    tokens: z.array(z.object({ label: z.string(), value: z.number() })),
  }),
});
export type AiOverviewResponse = z.infer<typeof aiOverviewResponseSchema>;

/** GET /api/ai/usage */
export const aiUsageQuerySchema = z.object({
  userId: z.guid().optional(),
  model: z.string().max(200).optional(),
  modality: aiModalitySchema.optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});
export type AiUsageQuery = z.infer<typeof aiUsageQuerySchema>;

export const aiUsageRecordSchema = z.object({
  id: z.string(),
  userId: z.string().nullable(),
  model: z.string(),
  modality: aiModalitySchema,
  promptTokens: z.number().int(),
  completionTokens: z.number().int(),
  totalTokens: z.number().int(),
  images: z.number().int(),
  /** `pending` while a call is in flight (its allowance reserved). */
  status: z.enum(['ok', 'error', 'aborted', 'pending']),
  createdAt: z.iso.datetime(),
});

export const aiUsageResponseSchema = z.object({
  data: z.array(aiUsageRecordSchema),
  pagination: paginationSchema,
});
export type AiUsageResponse = z.infer<typeof aiUsageResponseSchema>;

/** `/api/ai/{provider}/api-key[/rotate]`: InsForge's provider name for the upstream Kiln relays to. */
export const aiProviderParamsSchema = z.object({
  provider: z.enum(['openrouter'], {
    error: "the only provider is openrouter (Kiln's OpenAI-compatible upstream)",
  }),
});
export type AiProviderParams = z.infer<typeof aiProviderParamsSchema>;

/** `GET /api/ai/{provider}/api-key`: the upstream's key, masked (Kiln never answers the key). */
export const aiProviderKeyResponseSchema = z.object({
  provider: z.string(),
  /** The first three and last four characters, or only asterisks for a short key. */
  maskedKey: z.string(),
  /** The upstream the key is sent to. */
  baseUrl: z.string(),
});
export type AiProviderKeyResponse = z.infer<typeof aiProviderKeyResponseSchema>;
