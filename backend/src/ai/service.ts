/**
 * The AI gateway: relays chat (plain and streamed, with tools), embeddings and image generation
 * to an OpenAI-compatible upstream (OpenRouter by default) with the project's key kept here,
 * checks models and per-user limits from `ai.config`, and records usage in `ai.usage`.
 */
import { lockFor, type Database } from '../core/db.js';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { AiProvider, ModelInfo, Usage } from './providers/provider.js';

export { usageFrom } from './providers/provider.js';
export type { AiProvider, ModelInfo, Usage } from './providers/provider.js';

export type Modality = 'chat' | 'embedding' | 'image';
export const MODALITIES: Modality[] = ['chat', 'embedding', 'image'];

export interface AiOptions {
  /**
   * The upstream, chosen once in app.ts (ai/providers/openai-compatible.ts when a key or a base
   * URL is configured); undefined = none, and every AI call answers 503 AI_UPSTREAM_UNAVAILABLE.
   */
  provider: AiProvider | undefined;
  /** The upstream's base URL as `GET /api/ai/config` reports it. */
  baseUrl: string;
  /**
   * Per-user allowances per 24 hours that apply where ai.config sets none (AI_USER_DAILY_*);
   * 0 = unlimited.
   */
  userDailyDefaults: { requests: number; tokens: number; images: number };
  logger: Logger;
}

/** Per-user limits; null = unlimited. */
export interface AiLimits {
  requestsPerMinute: number | null;
  requestsPerDay: number | null;
  tokensPerDay: number | null;
  imagesPerDay: number | null;
}

export interface AiConfig {
  enabledModels: Record<Modality, string[]>;
  defaultModels: Partial<Record<Modality, string>>;
  systemPrompt: string | null;
  /** As set by admins: a number (0 = unlimited), or null = the server's default (AI_USER_DAILY_*). */
  limits: AiLimits;
  /** What is enforced per user (null = unlimited). */
  effectiveLimits: AiLimits;
  updatedAt: string;
}

interface ConfigRow {
  enabled_models: Record<Modality, string[]>;
  default_models: Partial<Record<Modality, string>>;
  system_prompt: string | null;
  requests_per_minute: number | null;
  requests_per_day: number | null;
  tokens_per_day: number | null;
  images_per_day: number | null;
  updated_at: Date;
}

const MODELS_TTL_MS = 5 * 60_000;

/**
 * Kiln's own count of the tokens in some text (about four characters a token), for a call whose
 * upstream reported none: a stream the caller ended before the usage chunk, an upstream that
 * sends no usage. A call is never counted as free because its usage went missing.
 */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** The upstream's usage when it sent one, else Kiln's estimate of what went up and came back. */
export function usageOrEstimate(
  reported: Usage | undefined,
  sent: unknown,
  received: string,
): Usage {
  if (reported && reported.totalTokens > 0) return reported;
  const promptTokens = estimateTokens(typeof sent === 'string' ? sent : JSON.stringify(sent ?? ''));
  const completionTokens = estimateTokens(received);
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
}

export class AiGateway {
  private models: { at: number; list: Promise<ModelInfo[]> } | undefined;
  /** The configuration, re-read at most once a second (other instances' changes within 1 s). */
  private cached: { at: number; config: Promise<AiConfig> } | undefined;

  constructor(
    private readonly db: Database,
    readonly options: AiOptions,
  ) {}

  get configured(): boolean {
    return this.options.provider !== undefined;
  }

  /** The upstream, or 503 AI_UPSTREAM_UNAVAILABLE when none is configured. */
  provider(): AiProvider {
    if (!this.options.provider) {
      throw new AppError(
        503,
        'AI_UPSTREAM_UNAVAILABLE',
        'No AI upstream is configured',
        'Set OPENROUTER_API_KEY (or AI_BASE_URL for a local OpenAI-compatible server such as Ollama) and restart',
      );
    }
    return this.options.provider;
  }

  /** A failure of a call to the upstream (or of the gateway itself) as Kiln's envelope. */
  upstreamError(err: unknown): AppError {
    return err instanceof AppError ? err : this.provider().error(err);
  }

  // ---- configuration ------------------------------------------------------------------------

  config(): Promise<AiConfig> {
    if (this.cached && Date.now() - this.cached.at < 1000) return this.cached.config;
    const config = this.readConfig();
    this.cached = { at: Date.now(), config };
    config.catch(() => (this.cached = undefined));
    return config;
  }

  /** A stored limit, else the server default; 0 (either way) = unlimited, reported as null. */
  private effective(r: ConfigRow): AiLimits {
    const d = this.options.userDailyDefaults;
    const pick = (stored: number | null, fallback: number) => {
      const v = stored ?? fallback;
      return v > 0 ? v : null;
    };
    return {
      requestsPerMinute: pick(r.requests_per_minute, 0),
      requestsPerDay: pick(r.requests_per_day, d.requests),
      tokensPerDay: pick(r.tokens_per_day, d.tokens),
      imagesPerDay: pick(r.images_per_day, d.images),
    };
  }

  private async readConfig(): Promise<AiConfig> {
    const { rows } = await this.db.query<ConfigRow>('SELECT * FROM ai.config');
    const r = rows[0]!;
    return {
      enabledModels: {
        chat: r.enabled_models.chat ?? [],
        embedding: r.enabled_models.embedding ?? [],
        image: r.enabled_models.image ?? [],
      },
      defaultModels: r.default_models,
      systemPrompt: r.system_prompt,
      limits: {
        requestsPerMinute: r.requests_per_minute,
        requestsPerDay: r.requests_per_day,
        tokensPerDay: r.tokens_per_day,
        imagesPerDay: r.images_per_day,
      },
      effectiveLimits: this.effective(r),
      updatedAt: r.updated_at.toISOString(),
    };
  }

  async updateConfig(patch: {
    enabledModels?: Partial<Record<Modality, string[]>>;
    defaultModels?: Partial<Record<Modality, string | null>>;
    systemPrompt?: string | null;
    limits?: Partial<AiConfig['limits']>;
  }): Promise<AiConfig> {
    const current = await this.readConfig();
    const enabled = { ...current.enabledModels, ...patch.enabledModels };
    const defaults: Partial<Record<Modality, string>> = { ...current.defaultModels };
    for (const [k, v] of Object.entries(patch.defaultModels ?? {})) {
      if (v === null) delete defaults[k as Modality];
      else if (v !== undefined) defaults[k as Modality] = v;
    }
    for (const m of MODALITIES) {
      const d = defaults[m];
      if (d && enabled[m].length && !enabled[m].includes(d)) {
        throw new AppError(
          400,
          'AI_INVALID_MODEL',
          `defaultModels.${m}: "${d}" is not among the enabled ${m} models`,
        );
      }
    }
    const limits = { ...current.limits, ...patch.limits };
    await this.db.query(
      `UPDATE ai.config SET enabled_models = $1, default_models = $2, system_prompt = $3,
              requests_per_minute = $4, tokens_per_day = $5, images_per_day = $6,
              requests_per_day = $7`,
      [
        JSON.stringify(enabled),
        JSON.stringify(defaults),
        patch.systemPrompt === undefined ? current.systemPrompt : patch.systemPrompt,
        limits.requestsPerMinute,
        limits.tokensPerDay,
        limits.imagesPerDay,
        limits.requestsPerDay,
      ],
    );
    this.cached = undefined;
    return this.config();
  }

  /** The upstream's models, cached for five minutes. */
  listModels(): Promise<ModelInfo[]> {
    if (this.models && Date.now() - this.models.at < MODELS_TTL_MS) return this.models.list;
    const list = this.provider().listModels();
    this.models = { at: Date.now(), list };
    list.catch(() => (this.models = undefined));
    return list;
  }

  /**
   * The model a call will use: the requested one or the configured default; it must be enabled
   * (when a list is configured) or, with no list, known to the upstream.
   */
  async resolveModel(modality: Modality, requested: string | undefined, cfg: AiConfig) {
    const model = requested ?? cfg.defaultModels[modality];
    if (!model) {
      throw new AppError(
        400,
        'AI_INVALID_MODEL',
        `model is required: no default ${modality} model is configured`,
        'Name a model, or set defaultModels in PUT /api/ai/config',
      );
    }
    const enabled = cfg.enabledModels[modality];
    if (enabled.length) {
      if (!enabled.includes(model)) {
        throw new AppError(
          400,
          'AI_INVALID_MODEL',
          `Model "${model}" is not enabled for ${modality}; enabled: ${enabled.join(', ')}`,
        );
      }
      return model;
    }
    // No list configured: anything the upstream offers. When the list cannot be read, the
    // upstream judges the model itself.
    const known = await this.listModels().catch(() => undefined);
    if (known && !known.some((m) => m.id === model)) {
      throw new AppError(
        400,
        'AI_INVALID_MODEL',
        `Unknown model "${model}"`,
        'GET /api/ai/models lists them',
      );
    }
    return model;
  }

  /**
   * Per-user limits (admins and the API key are not limited): the configured ones, else the
   * server's daily defaults, so a fresh project is never unlimited for its users. The check
   * and a 'pending' reservation row happen under a per-user lock, so parallel requests count
   * each other (record() fills the reservation in when the call ends). Under a token allowance
   * a call reserves its tokens too: the prompt (`promptTokens`, Kiln's estimate) and the most
   * its answer may use, `tokensLeft` (the caller's maxTokens, else a tenth of the daily
   * allowance, never more than is left), which the route sends upstream as max_tokens.
   */
  async checkLimits(
    userId: string | undefined,
    cfg: AiConfig,
    modality: Modality,
    model: string,
    images = 0,
    tokens: { promptTokens?: number; maxTokens?: number } = {},
  ): Promise<{ tokensLeft?: number; reservation?: string }> {
    const { requestsPerMinute, requestsPerDay, tokensPerDay, imagesPerDay } = cfg.effectiveLimits;
    if (!userId || (!requestsPerMinute && !requestsPerDay && !tokensPerDay && !imagesPerDay))
      return {};
    return this.db.transaction(async (tx) => {
      await lockFor(tx, `ai-limits:${userId}`);
      const { rows } = await tx.query<{
        recent: number;
        daily: number;
        tokens: number;
        images: number;
      }>(
        `SELECT count(*) FILTER (WHERE created_at > now() - interval '1 minute')::int AS recent,
                count(*)::int AS daily,
                coalesce(sum(total_tokens + reserved_tokens), 0)::float8 AS tokens,
                coalesce(sum(images), 0)::int AS images
           FROM ai.usage WHERE user_id = $1 AND created_at > now() - interval '1 day'`,
        [userId],
      );
      const u = rows[0]!;
      if (requestsPerMinute && u.recent >= requestsPerMinute) {
        throw new AppError(
          429,
          'AI_RATE_LIMITED',
          `At most ${requestsPerMinute} AI requests per minute per user: try again shortly`,
        );
      }
      if (requestsPerDay && u.daily >= requestsPerDay) {
        throw new AppError(
          429,
          'AI_USAGE_LIMIT_EXCEEDED',
          `This user's AI request allowance (${requestsPerDay} per 24 hours) is used up`,
          'Admins can raise it with PUT /api/ai/config {limits: {requestsPerDay}} or AI_USER_DAILY_REQUESTS',
        );
      }
      if (tokensPerDay && modality !== 'image' && u.tokens >= tokensPerDay) {
        throw new AppError(
          429,
          'AI_USAGE_LIMIT_EXCEEDED',
          `This user's AI token allowance (${tokensPerDay} per 24 hours) is used up`,
          'Admins can raise it with PUT /api/ai/config {limits: {tokensPerDay}} or AI_USER_DAILY_TOKENS',
        );
      }
      if (imagesPerDay && modality === 'image' && u.images + Math.max(1, images) > imagesPerDay) {
        throw new AppError(
          429,
          'AI_USAGE_LIMIT_EXCEEDED',
          `This user's image allowance (${imagesPerDay} per 24 hours) does not cover ${Math.max(1, images)} more`,
          'Admins can raise it with PUT /api/ai/config {limits: {imagesPerDay}} or AI_USER_DAILY_IMAGES',
        );
      }
      // What this call may use: its answer is capped there (max_tokens), so neither one long
      // answer nor many parallel ones run past the allowance.
      const metered = Boolean(tokensPerDay) && modality !== 'image';
      const tokensLeft =
        metered && modality === 'chat'
          ? Math.max(
              1,
              Math.min(tokensPerDay! - u.tokens, tokens.maxTokens ?? Math.ceil(tokensPerDay! / 10)),
            )
          : undefined;
      const reserved = metered ? (tokens.promptTokens ?? 0) + (tokensLeft ?? 0) : 0;
      const { rows: added } = await tx.query<{ id: string }>(
        `INSERT INTO ai.usage (user_id, model, modality, images, status, reserved_tokens)
         VALUES ($1, $2, $3, $4, 'pending', $5) RETURNING id::text`,
        [
          userId,
          model,
          modality,
          modality === 'image' ? Math.max(1, images) : 0,
          Math.min(reserved, 2_000_000_000),
        ],
      );
      return { reservation: added[0]!.id, ...(tokensLeft !== undefined ? { tokensLeft } : {}) };
    });
  }

  async record(entry: {
    userId: string | undefined;
    model: string;
    modality: Modality;
    usage?: Partial<Usage>;
    images?: number;
    status?: 'ok' | 'error' | 'aborted';
    /** The call's reservation (checkLimits), else the oldest of this user and modality. */
    reservation?: string;
  }): Promise<void> {
    // Fills in the call's reservation (see checkLimits), if any: its real usage replaces the
    // tokens it held.
    await this.db
      .query(
        `WITH reserved AS (
           SELECT id FROM ai.usage
            WHERE $1::uuid IS NOT NULL AND user_id = $1 AND modality = $3 AND status = 'pending'
              AND ($9::bigint IS NULL OR id = $9::bigint)
            ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED
         ), filled AS (
           UPDATE ai.usage u SET model = $2, prompt_tokens = $4, completion_tokens = $5,
                  total_tokens = $6, images = $7, status = $8, reserved_tokens = 0
             FROM reserved WHERE u.id = reserved.id RETURNING u.id
         )
         INSERT INTO ai.usage (user_id, model, modality, prompt_tokens, completion_tokens, total_tokens, images, status)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE NOT EXISTS (SELECT 1 FROM filled)`,
        [
          entry.userId ?? null,
          entry.model,
          entry.modality,
          entry.usage?.promptTokens ?? 0,
          entry.usage?.completionTokens ?? 0,
          entry.usage?.totalTokens ?? 0,
          entry.images ?? 0,
          entry.status ?? 'ok',
          entry.reservation ?? null,
        ],
      )
      .catch((err: unknown) =>
        this.options.logger.warn('ai usage record failed', { error: String(err) }),
      );
  }
}
