import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_KEY, FakeOpenAI, PNG, REPLY } from './fake-openai.js';
import { startTestApp, type TestApp } from './helpers.js';

let t: TestApp;
const upstream = new FakeOpenAI();
beforeAll(async () => {
  await upstream.start();
  t = await startTestApp(
    {},
    { OPENROUTER_API_KEY: FAKE_KEY, OPENROUTER_BASE_URL: upstream.url, AI_TIMEOUT_MS: '1000' },
  );
});
afterAll(async () => {
  await t?.stop();
  await upstream.stop();
});

const admin = (method: string, p: string, body?: unknown) =>
  t.request(method, p, { token: t.apiKey, body });
const lastRequest = (path: string) => upstream.requests.filter((r) => r.path === path).at(-1)!.body;

/** Raw SSE events of a streamed chat. */
async function sse(token: string, body: unknown) {
  const res = await fetch(`${t.baseUrl}/api/ai/chat/completion`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ stream: true, ...(body as object) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    events: text
      .split('\n\n')
      .filter((b) => b.startsWith('data: '))
      .map((b) => JSON.parse(b.slice(6))),
  };
}

describe('chat', () => {
  it('answers through @insforge/sdk, maps the camelCase request, and records usage', async () => {
    const user = await t.signUpUser();
    const completion = await user.client.ai.chat.completions.create({
      model: 'openai/gpt-4o-mini',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
          ],
        },
      ],
      temperature: 0.3,
      maxTokens: 50,
      topP: 0.9,
      webSearch: { enabled: true, maxResults: 3 },
    });
    expect(completion.choices[0]!.message.content).toBe(REPLY);
    expect(completion.usage).toEqual({ promptTokens: 11, completionTokens: 9, totalTokens: 20 });
    const sent = lastRequest('/chat/completions');
    expect(sent).toMatchObject({
      model: 'openai/gpt-4o-mini',
      temperature: 0.3,
      max_tokens: 50,
      top_p: 0.9,
      plugins: [{ id: 'web', max_results: 3 }],
    });
    expect(sent.messages[0].content[1]).toEqual({
      type: 'image_url',
      image_url: { url: 'https://example.com/cat.png' },
    });
    const usage = await admin('GET', `/api/ai/usage?userId=${user.userId}`);
    expect(usage.body.data).toEqual([
      expect.objectContaining({
        model: 'openai/gpt-4o-mini',
        modality: 'chat',
        promptTokens: 11,
        completionTokens: 9,
        totalTokens: 20,
        status: 'ok',
      }),
    ]);
  });

  it('streams chunks that accumulate to the reply, then token usage and done', async () => {
    const user = await t.signUpUser();
    const stream = await user.client.ai.chat.completions.create({
      model: 'openai/gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream as AsyncIterable<any>)
      text += chunk.choices[0].delta.content ?? '';
    expect(text).toBe(REPLY);
    const raw = await sse(user.accessToken, {
      model: 'openai/gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(raw.status).toBe(200);
    expect(raw.type).toMatch(/^text\/event-stream/);
    expect(
      raw.events
        .filter((e) => e.chunk)
        .map((e) => e.chunk)
        .join(''),
    ).toBe(REPLY);
    expect(raw.events.at(-2)).toEqual({
      tokenUsage: { promptTokens: 11, completionTokens: 9, totalTokens: 20 },
    });
    expect(raw.events.at(-1)).toEqual({ done: true });
    expect(lastRequest('/chat/completions').stream_options).toEqual({ include_usage: true });
  });

  it('relays tool calls, plain and streamed', async () => {
    const user = await t.signUpUser();
    const tools = [
      {
        type: 'function' as const,
        function: {
          name: 'get_weather',
          description: 'Weather for a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
        },
      },
    ];
    const plain = await user.client.ai.chat.completions.create({
      model: 'openai/gpt-4o-mini',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools,
      toolChoice: 'auto',
      parallelToolCalls: false,
    });
    expect(plain.choices[0]!.finish_reason).toBe('tool_calls');
    expect(plain.choices[0]!.message.tool_calls).toEqual([
      {
        id: 'call_1',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
      },
    ]);
    expect(lastRequest('/chat/completions')).toMatchObject({
      tool_choice: 'auto',
      parallel_tool_calls: false,
      tools,
    });
    const streamed = await sse(user.accessToken, {
      model: 'openai/gpt-4o-mini',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools,
    });
    expect(streamed.events.find((e) => e.tool_calls)).toEqual({
      tool_calls: [
        {
          id: 'call_1',
          type: 'function',
          function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
        },
      ],
    });
    expect(streamed.events.at(-1)).toEqual({ done: true });
  });

  it('a caller who goes away stops the upstream stream', async () => {
    const user = await t.signUpUser();
    const before = upstream.aborted;
    const controller = new AbortController();
    const res = await fetch(`${t.baseUrl}/api/ai/chat/completion`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'endless/model',
        messages: [{ role: 'user', content: 'go on forever' }],
        stream: true,
      }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('"chunk":"tick 0 "');
    controller.abort();
    // Awaited, not slept on: on a loaded machine the abort and the usage record take a while.
    await expect.poll(() => upstream.aborted, { timeout: 20_000, interval: 20 }).toBe(before + 1);
    await expect
      .poll(async () => (await admin('GET', `/api/ai/usage?userId=${user.userId}`)).body.data[0], {
        timeout: 20_000,
        interval: 50,
      })
      .toMatchObject({ model: 'endless/model', status: 'aborted' });
  });
});

describe('embeddings and images', () => {
  it('embeds a string or an array, with dimensions', async () => {
    const user = await t.signUpUser();
    const one = await user.client.ai.embeddings.create({
      model: 'openai/text-embedding-3-small',
      input: 'hello',
      dimensions: 4,
    });
    expect(one.data).toHaveLength(1);
    expect(one.data[0]!.embedding).toHaveLength(4);
    expect(one.data[0]!.embedding[0]).toBeCloseTo(0.05, 5);
    expect(lastRequest('/embeddings')).toMatchObject({ dimensions: 4 });
    const many = await user.client.ai.embeddings.create({
      model: 'openai/text-embedding-3-small',
      input: ['a', 'bb', 'ccc'],
    });
    expect(many.data.map((d: any) => d.index)).toEqual([0, 1, 2]);
    expect(many.usage).toEqual({ prompt_tokens: 9, total_tokens: 9 });
  });

  it('generates images as data URLs', async () => {
    const user = await t.signUpUser();
    const result = await user.client.ai.images.generate({
      model: 'google/gemini-image',
      prompt: 'a red square',
    });
    expect(result.data[0]!.b64_json).toBe(PNG);
    expect(lastRequest('/chat/completions')).toMatchObject({
      model: 'google/gemini-image',
      modalities: ['image', 'text'],
    });
    const raw = await t.request('POST', '/api/ai/image/generation', {
      token: user.accessToken,
      body: { model: 'google/gemini-image', prompt: 'a red square' },
    });
    expect(raw.body).toMatchObject({
      text: 'Here is your image',
      images: [{ type: 'imageUrl', imageUrl: `data:image/png;base64,${PNG}` }],
      metadata: { model: 'google/gemini-image' },
    });
    const usage = await admin('GET', `/api/ai/usage?userId=${user.userId}&modality=image`);
    expect(usage.body.data[0]).toMatchObject({ images: 1 });
  });
});

describe('images through /images/generations (AI_IMAGE_API=images)', () => {
  it('asks the OpenAI images endpoint and returns data URLs', async () => {
    const other = await startTestApp(
      {},
      { OPENROUTER_API_KEY: FAKE_KEY, AI_BASE_URL: upstream.url, AI_IMAGE_API: 'images' },
    );
    try {
      const user = await other.signUpUser();
      const res = await other.request('POST', '/api/ai/image/generation', {
        token: user.accessToken,
        body: { model: 'google/gemini-image', prompt: 'two squares', n: 2, size: '256x256' },
      });
      expect(res.status).toBe(200);
      expect(res.body.images).toEqual([
        { type: 'imageUrl', imageUrl: `data:image/png;base64,${PNG}` },
        { type: 'imageUrl', imageUrl: `data:image/png;base64,${PNG}` },
      ]);
      expect(lastRequest('/images/generations')).toMatchObject({
        model: 'google/gemini-image',
        prompt: 'two squares',
        n: 2,
        size: '256x256',
      });
    } finally {
      await other.stop();
    }
  });
});

describe('models, limits and errors', () => {
  it('refuses anonymous callers, bad bodies, unknown and disabled models', async () => {
    const anon = await t.request('POST', '/api/ai/chat/completion', {
      token: t.anonKey,
      body: { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(anon.status).toBe(401);
    const user = await t.signUpUser();
    const ask = (body: unknown) =>
      t.request('POST', '/api/ai/chat/completion', { token: user.accessToken, body });
    const empty = await ask({ model: 'openai/gpt-4o-mini', messages: [] });
    expect(empty.status).toBe(400);
    expect((await ask({ model: 'x', messages: [{ role: 'robot', content: 'hi' }] })).status).toBe(
      400,
    );
    const unknown = await ask({
      model: 'nobody/none',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toBe('AI_INVALID_MODEL');
    const noModel = await ask({ messages: [{ role: 'user', content: 'hi' }] });
    expect(noModel.body.error).toBe('AI_INVALID_MODEL');

    const cfg = await admin('PUT', '/api/ai/config', {
      enabledModels: {
        chat: ['openai/gpt-4o-mini', 'fail/500', 'fail/429', 'fail/400', 'slow/model'],
      },
      defaultModels: { chat: 'openai/gpt-4o-mini' },
      systemPrompt: 'You are terse.',
    });
    expect(cfg.status).toBe(200);
    const disabled = await ask({
      model: 'anthropic/claude-sonnet',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(disabled.status).toBe(400);
    expect(disabled.body.message).toMatch(/not enabled/);
    const byDefault = await ask({ messages: [{ role: 'user', content: 'hi' }] });
    expect(byDefault.status).toBe(200);
    expect(byDefault.body.metadata.model).toBe('openai/gpt-4o-mini');
    expect(lastRequest('/chat/completions').messages[0]).toEqual({
      role: 'system',
      content: 'You are terse.',
    });
    const badDefault = await admin('PUT', '/api/ai/config', { defaultModels: { chat: 'nope/x' } });
    expect(badDefault.status).toBe(400);

    const models = await admin('GET', '/api/ai/models');
    // A bare array, as InsForge answers, with InsForge's names beside Kiln's.
    expect(models.body).toContainEqual(
      expect.objectContaining({
        id: 'anthropic/claude-sonnet',
        name: 'ANTHROPIC/CLAUDE-SONNET',
        provider: 'anthropic',
        modelId: 'anthropic/claude-sonnet',
        inputModality: expect.arrayContaining(['text']),
        enabled: { chat: false, embedding: true, image: true },
      }),
    );
    expect((await t.request('GET', '/api/ai/models', { token: user.accessToken })).status).toBe(
      403,
    );
  });

  it('maps upstream errors and timeouts to the envelope', async () => {
    const user = await t.signUpUser();
    const ask = (model: string) =>
      t.request('POST', '/api/ai/chat/completion', {
        token: user.accessToken,
        body: { model, messages: [{ role: 'user', content: 'hi' }] },
      });
    const e500 = await ask('fail/500');
    expect(e500.status).toBe(502);
    expect(e500.body).toMatchObject({ error: 'AI_UPSTREAM_ERROR', message: 'upstream exploded' });
    const e429 = await ask('fail/429');
    expect(e429.status).toBe(429);
    expect(e429.body.message).toMatch(/slow down/);
    const e400 = await ask('fail/400');
    expect(e400.status).toBe(400);
    expect(e400.body.message).toBe('bad messages');
    const slow = await ask('slow/model');
    expect(slow.status).toBe(504);
    expect(slow.body.error).toBe('AI_UPSTREAM_TIMEOUT');
    const streamed = await fetch(`${t.baseUrl}/api/ai/chat/completion`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'fail/500',
        messages: [{ role: 'user', content: 'x' }],
        stream: true,
      }),
    });
    expect(streamed.status).toBe(502);
    expect((await streamed.json()).error).toBe('AI_UPSTREAM_ERROR');
  });

  it('enforces per-user request limits, and reports an overview', async () => {
    await admin('PUT', '/api/ai/config', { limits: { requestsPerMinute: 2 } });
    try {
      const user = await t.signUpUser();
      const ask = () =>
        t.request('POST', '/api/ai/chat/completion', {
          token: user.accessToken,
          body: { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
        });
      expect((await ask()).status).toBe(200);
      expect((await ask()).status).toBe(200);
      const third = await ask();
      expect(third.status).toBe(429);
      expect(third.body.error).toBe('AI_RATE_LIMITED');
      // Parallel requests count each other: a fresh user with 2 per minute gets exactly 2.
      const racer = await t.signUpUser();
      const burst = await Promise.all(
        Array.from({ length: 8 }, () =>
          t.request('POST', '/api/ai/chat/completion', {
            token: racer.accessToken,
            body: { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
          }),
        ),
      );
      expect(burst.filter((r) => r.status === 200)).toHaveLength(2);
      expect(burst.filter((r) => r.status === 429)).toHaveLength(6);
      // Admins are not limited.
      const asAdmin = await admin('POST', '/api/ai/chat/completion', {
        model: 'openai/gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(asAdmin.status).toBe(200);
      const overview = await admin('GET', '/api/ai/overview');
      expect(overview.body.totals.requests).toBeGreaterThan(3);
      // InsForge's charts: the same days as byDay.
      expect(overview.body.charts.requests).toEqual(
        overview.body.byDay.map((d: { day: string; requests: number }) => ({
          label: d.day,
          value: d.requests,
        })),
      );
      expect(overview.body.charts.spend).toEqual([]);
      expect(overview.body.byUser).toContainEqual(
        expect.objectContaining({ userId: user.userId, email: user.email, requests: 2 }),
      );
      // Every reservation was filled in: nothing is left pending.
      const pending = await t.app.db.query(
        `SELECT count(*)::int AS n FROM ai.usage WHERE status = 'pending'`,
      );
      expect(pending.rows[0]!.n).toBe(0);
      expect(overview.body.byModel).toContainEqual(
        expect.objectContaining({ model: 'openai/gpt-4o-mini', modality: 'chat' }),
      );
      // A daily token allowance: 20 tokens per call here, 30 allowed.
      await admin('PUT', '/api/ai/config', {
        limits: { requestsPerMinute: null, tokensPerDay: 30 },
      });
      const thrifty = await t.signUpUser();
      const spend = () =>
        t.request('POST', '/api/ai/chat/completion', {
          token: thrifty.accessToken,
          body: { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
        });
      expect((await spend()).status).toBe(200);
      expect((await spend()).status).toBe(200);
      const over = await spend();
      expect(over.status).toBe(429);
      expect(over.body.error).toBe('AI_USAGE_LIMIT_EXCEEDED');
    } finally {
      await admin('PUT', '/api/ai/config', {
        limits: { requestsPerMinute: null, tokensPerDay: null },
      });
    }
  });

  it('reports each day’s requests and tokens per model and per user', async () => {
    const user = await t.signUpUser();
    const ask = () =>
      t.request('POST', '/api/ai/chat/completion', {
        token: user.accessToken,
        body: { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
      });
    expect((await ask()).status).toBe(200);
    expect((await ask()).status).toBe(200);
    const embed = await t.request('POST', '/api/ai/embeddings', {
      token: user.accessToken,
      body: { model: 'openai/text-embedding-3-small', input: 'hi' },
    });
    expect(embed.status).toBe(200);
    const { status, body } = await admin('GET', '/api/ai/overview?days=7');
    expect(status).toBe(200);
    const today = body.byDay.at(-1).day as string;
    type Daily = { day: string; requests: number; totalTokens: number };
    // The user's calls, today: 20 tokens per chat, 3 for the embedding (the upstream's usage).
    expect(body.byDayUser).toContainEqual({
      day: today,
      userId: user.userId,
      email: user.email,
      requests: 3,
      totalTokens: 43,
    });
    // Per model, each day adds up to that day's totals (newest day first).
    const days = [...new Set((body.byDayModel as Daily[]).map((r) => r.day))];
    expect(days).toEqual([...days].sort().reverse());
    for (const d of body.byDay as Daily[]) {
      const rows = (body.byDayModel as Daily[]).filter((r) => r.day === d.day);
      expect(rows.reduce((n, r) => n + r.requests, 0)).toBe(d.requests);
      expect(rows.reduce((n, r) => n + r.totalTokens, 0)).toBe(d.totalTokens);
      const users = (body.byDayUser as Daily[]).filter((r) => r.day === d.day);
      expect(users.reduce((n, r) => n + r.requests, 0)).toBe(d.requests);
    }
    expect(body.byDayModel).toContainEqual(
      expect.objectContaining({ day: today, model: 'openai/text-embedding-3-small' }),
    );
  });

  it('does not pass on what the upstream says about a refused key', async () => {
    const wrongKey = await startTestApp(
      {},
      { OPENROUTER_API_KEY: 'sk-wrong-key-1234', OPENROUTER_BASE_URL: upstream.url },
    );
    try {
      const user = await wrongKey.signUpUser();
      const res = await wrongKey.request('POST', '/api/ai/chat/completion', {
        token: user.accessToken,
        body: { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
      });
      expect(res.status).toBe(503);
      expect(res.body.error).toBe('AI_UPSTREAM_UNAVAILABLE');
      expect(JSON.stringify(res.body)).not.toContain('sk-wro');
      expect(JSON.stringify(res.body)).not.toContain('1234');
    } finally {
      await wrongKey.stop();
    }
  });

  it('says what to set when no upstream is configured', async () => {
    const bare = await startTestApp();
    try {
      const user = await bare.signUpUser();
      const res = await bare.request('POST', '/api/ai/chat/completion', {
        token: user.accessToken,
        body: { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
      });
      expect(res.status).toBe(503);
      expect(res.body.error).toBe('AI_UPSTREAM_UNAVAILABLE');
      expect(res.body.nextActions).toMatch(/OPENROUTER_API_KEY/);
      const key = await bare.request('GET', '/api/ai/openrouter/api-key', { token: bare.apiKey });
      expect(key.status).toBe(400);
      expect(key.body).toMatchObject({
        error: 'AI_KEY_NOT_CONFIGURED',
        nextActions: expect.stringMatching(/OPENROUTER_API_KEY/),
      });
    } finally {
      await bare.stop();
    }
  });
});

describe("the provider key (InsForge's /api/ai/{provider}/api-key)", () => {
  it('answers the upstream key masked, to admins only', async () => {
    const res = await admin('GET', '/api/ai/openrouter/api-key');
    expect(res.status).toBe(200);
    // FAKE_KEY is sk-fake-upstream-key: three characters, asterisks, the last four.
    expect(res.body).toEqual({
      provider: 'openrouter',
      maskedKey: 'sk-********-key',
      baseUrl: upstream.url,
    });
    expect(JSON.stringify(res.body)).not.toContain(FAKE_KEY);
    const viaJwt = await t.request('GET', '/api/ai/openrouter/api-key', {
      token: await t.adminToken(),
    });
    expect(viaJwt.body.maskedKey).toBe('sk-********-key');

    const user = await t.signUpUser();
    for (const token of [user.accessToken, t.anonKey]) {
      const denied = await t.request('GET', '/api/ai/openrouter/api-key', { token });
      expect(denied.status).toBe(403);
      expect(JSON.stringify(denied.body)).not.toContain('-key');
    }
    expect((await t.request('GET', '/api/ai/openrouter/api-key')).status).toBe(401);
    const unknown = await admin('GET', '/api/ai/anthropic/api-key');
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toMatch(/openrouter/);
  });

  it("GET /api/ai/config shows the key as InsForge's credential status; PUT refuses to store one", async () => {
    const cfg = await admin('GET', '/api/ai/config');
    expect(cfg.body).toMatchObject({
      apiKey: { configured: true, maskedKey: 'sk-********-key' },
      managementKey: { configured: false, maskedKey: null },
    });
    const put = await admin('PUT', '/api/ai/config', { apiKey: 'sk-new-key-from-a-dashboard' });
    expect(put.status).toBe(400);
    expect(put.body.error).toBe('INVALID_INPUT');
    expect(put.body.message).toMatch(/apiKey.*OPENROUTER_API_KEY/);
    expect((await admin('GET', '/api/ai/config')).body.apiKey.maskedKey).toBe('sk-********-key');
  });

  it('refuses to rotate, saying what to do, and changes nothing', async () => {
    const res = await admin('POST', '/api/ai/openrouter/api-key/rotate');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      error: 'AI_KEY_ROTATION_UNSUPPORTED',
      nextActions: expect.stringMatching(/OPENROUTER_API_KEY/),
    });
    const user = await t.signUpUser();
    const denied = await t.request('POST', '/api/ai/openrouter/api-key/rotate', {
      token: user.accessToken,
    });
    expect(denied.status).toBe(403);
    // The gateway still calls the upstream with the same key.
    const chat = await t.request('POST', '/api/ai/chat/completion', {
      token: user.accessToken,
      body: { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(chat.status).toBe(200);
    expect((await admin('GET', '/api/ai/openrouter/api-key')).body.maskedKey).toBe(
      'sk-********-key',
    );
  });
});
