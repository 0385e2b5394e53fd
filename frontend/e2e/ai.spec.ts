/**
 * AI against the real API and a local OpenAI-compatible stand-in (backend/test/fake-openai.ts,
 * started by the global setup, streaming a word every 150 ms): a chat in the playground whose
 * answer arrives in pieces, a tool call, token counts, Stop and an upstream error; the usage
 * charts counting a chat made in the playground; the configuration saved and read back.
 */
import type { Page } from '@playwright/test';
import { FAKE_KEY, REPLY } from '../../backend/test/fake-openai';
import { adminToken, expect, expectNoA11yViolations, shoot, test } from './fixtures';

const MODEL = 'anthropic/claude-sonnet';

/** The tokens recorded for `model` so far (the backend is shared by the whole run). */
async function tokensOf(page: Page, headers: Record<string, string>, model: string) {
  const res = await page.request.get('/api/ai/overview?days=30', { headers });
  expect(res.status(), await res.text()).toBe(200);
  const body = (await res.json()) as { byModel: { model: string; totalTokens: number }[] };
  return body.byModel.filter((m) => m.model === model).reduce((n, m) => n + m.totalTokens, 0);
}

test('ai: the playground streams a chat, shows a tool call, token counts, stop and errors', async ({
  signedIn: page,
}) => {
  // Three views shot in both themes at two widths: more than the default 30 s on a loaded machine.
  test.setTimeout(60_000);
  await page.goto('/dashboard/ai');
  await expect(page.getByRole('heading', { name: 'AI', level: 1 })).toBeVisible();
  const log = page.getByRole('log', { name: 'Conversation' });
  await expect(log).toContainText('Say something to the model');
  await expectNoA11yViolations(page);
  await shoot(page, 'ai-playground-empty');

  // The model picker is URL state.
  await page.getByLabel('Model').click();
  await page.getByRole('option', { name: MODEL }).click();
  await expect(page).toHaveURL(/[?&]model=anthropic(%2F|\/)claude-sonnet/);

  // Every text the answer shows on its way, recorded by the page itself as it changes.
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { aiSeen: string[] }).aiSeen = seen;
    new MutationObserver(() => {
      const nodes = document.querySelectorAll(
        'article[aria-label="Assistant"] [data-role="content"]',
      );
      const text = nodes[nodes.length - 1]?.textContent ?? '';
      if (text && text !== seen.at(-1)) seen.push(text);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await page.getByLabel('Message').fill('Say hello');
  await page.getByLabel('Message').press('Enter');
  const answer = log.getByRole('article', { name: 'Assistant' }).last();
  await expect(answer).toHaveAttribute('aria-busy', 'true');
  await expect(page.getByRole('button', { name: 'Stop' })).toBeVisible();
  await expect(answer.locator('[data-role=content]')).toHaveText(REPLY);
  await expect(answer).not.toHaveAttribute('aria-busy');
  await expect(answer).toContainText('11 prompt · 9 completion · 20 tokens');
  // It grew word by word: several texts, each the one before plus more, ending in the reply.
  const seen = await page.evaluate(() => (window as unknown as { aiSeen: string[] }).aiSeen);
  expect(seen.length, seen.join(' | ')).toBeGreaterThanOrEqual(3);
  for (let i = 1; i < seen.length; i++) expect(seen[i]!.startsWith(seen[i - 1]!)).toBe(true);
  expect(seen.at(-1)).toBe(REPLY);

  // Tools: the sample tool is offered, the model answers with a call to it.
  await page.getByRole('switch', { name: 'Offer tools' }).click();
  await expect(page.getByLabel('Tools (JSON)')).toHaveValue(/"get_weather"/);
  await page.getByLabel('Message').fill('What is the weather in Paris?');
  await page.getByRole('button', { name: 'Send' }).click();
  const call = log.getByRole('region', { name: 'Tool call get_weather' });
  await expect(call).toContainText('"city": "Paris"');
  await expect(log.getByRole('article', { name: 'Assistant' }).last()).toContainText(
    '11 prompt · 9 completion · 20 tokens',
  );
  await expect(page.getByText('40 tokens so far (22 prompt, 18 completion)')).toBeVisible();
  await expectNoA11yViolations(page);
  await shoot(page, 'ai-playground');

  // Stop: an answer that never ends stops when asked, and the composer is back.
  await page.getByRole('switch', { name: 'Offer tools' }).click();
  await page.getByLabel('Model').click();
  await page.getByRole('option', { name: 'endless/model' }).click();
  await page.getByLabel('Message').fill('Count for ever');
  await page.getByRole('button', { name: 'Send' }).click();
  const endless = log.getByRole('article', { name: 'Assistant' }).last();
  await expect(endless).toContainText('tick 3');
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(endless).toContainText('stopped');
  await expect(endless).not.toHaveAttribute('aria-busy');
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();

  // An upstream failure is the answer's error, with the API's code.
  await page.getByLabel('Model').click();
  await page.getByRole('option', { name: 'fail/500' }).click();
  await page.getByLabel('Message').fill('Fail please');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(
    log.getByRole('article', { name: 'Assistant' }).last().getByRole('alert'),
  ).toContainText('AI_UPSTREAM_ERROR');
  await shoot(page, 'ai-playground-error');
});

test('ai: the usage charts count the chat just made in the playground', async ({
  signedIn: page,
}) => {
  const headers = { Authorization: `Bearer ${await adminToken(page)}` };
  const model = 'openai/gpt-4o-mini';
  const before = await tokensOf(page, headers, model);
  await page.goto(`/dashboard/ai?model=${encodeURIComponent(model)}`);
  await expect(page.getByLabel('Model')).toHaveText(model);
  await page.getByLabel('Message').fill('Hello?');
  await page.getByLabel('Message').press('Enter');
  const log = page.getByRole('log', { name: 'Conversation' });
  await expect(log.getByRole('article', { name: 'Assistant' })).toContainText('20 tokens');

  // The call is in the chart and the table (20 tokens more for the model); by user, an admin's.
  await page.getByRole('tab', { name: 'Usage' }).click();
  await expect(page).toHaveURL(/[?&]tab=usage/);
  const total = (before + 20).toLocaleString('en-US');
  await expect(
    page.getByRole('img', { name: /^Tokens per day by model, last 30 days: / }),
  ).toHaveAttribute('aria-label', new RegExp(`openai/gpt-4o-mini ${total}(,|$)`));
  await expect(
    page
      .getByRole('table', { name: 'Usage by model' })
      .getByRole('row', { name: new RegExp(model) }),
  ).toContainText(total);
  await expectNoA11yViolations(page);
  await shoot(page, 'ai-usage');
  await page.getByRole('button', { name: 'Requests' }).click();
  await page.getByRole('button', { name: 'By user' }).click();
  await expect(page).toHaveURL(/[?&]metric=requests/);
  await expect(page).toHaveURL(/[?&]by=user/);
  await expect(
    page.getByRole('img', { name: /^Requests per day by user, last 30 days: / }),
  ).toHaveAttribute('aria-label', /Admins and the API key [1-9]/);
  await shoot(page, 'ai-usage-by-user');
});

test('ai: configuration (models, default, system prompt, limits) is saved and read back', async ({
  signedIn: page,
}) => {
  const headers = { Authorization: `Bearer ${await adminToken(page)}` };
  const prompt = `You are the e2e assistant ${Date.now().toString(36)}.`;
  try {
    await page.goto('/dashboard/ai?tab=config');
    const upstream = page.locator('section', {
      has: page.getByRole('heading', { name: 'Upstream' }),
    });
    await expect(upstream).toContainText('Configured');
    await expect(upstream).toContainText(FAKE_KEY.slice(-4));
    await expect(upstream).not.toContainText(FAKE_KEY);

    // Only some chat models: none checked is refused in the form.
    await page.getByRole('switch', { name: 'Only the models checked below' }).click();
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(page.getByText('Check at least one model, or allow every model')).toBeVisible();
    await page.getByRole('checkbox', { name: 'openai/gpt-4o-mini' }).click();
    await page.getByRole('checkbox', { name: MODEL }).click();
    await page.getByLabel('Default chat model').click();
    await page.getByRole('option', { name: MODEL }).click();
    await page.getByLabel('System prompt').fill(prompt);
    await page.getByLabel('Requests per minute').fill('ten');
    await page.getByLabel('Tokens per day').fill('5000');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(page.getByText('A whole number (0 = unlimited)')).toBeVisible();
    await page.getByLabel('Requests per minute').fill('0');
    await expectNoA11yViolations(page);
    await shoot(page, 'ai-config');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(page.getByText('AI settings saved')).toBeVisible();

    // Stored: the API answers the new settings, and a reload shows them.
    const stored = await (await page.request.get('/api/ai/config', { headers })).json();
    expect(stored).toMatchObject({
      enabledModels: { chat: ['openai/gpt-4o-mini', MODEL], embedding: [], image: [] },
      defaultModels: { chat: MODEL },
      systemPrompt: prompt,
      limits: { requestsPerMinute: 0, tokensPerDay: 5000 },
      effectiveLimits: { requestsPerMinute: null, tokensPerDay: 5000 },
    });
    await page.reload();
    await expect(page.getByRole('switch', { name: 'Only the models checked below' })).toBeChecked();
    await expect(page.getByRole('checkbox', { name: MODEL })).toBeChecked();
    await expect(page.getByRole('checkbox', { name: 'fail/500' })).not.toBeChecked();
    await expect(page.getByLabel('Default chat model')).toHaveText(MODEL);
    await expect(page.getByLabel('System prompt')).toHaveValue(prompt);
    await expect(page.getByLabel('Tokens per day')).toHaveValue('5000');
    await expect(page.getByText('Now: 5,000 tokens a day')).toBeVisible();

    // The playground offers only the enabled models, the default first, and names the prompt.
    await page.getByRole('tab', { name: 'Playground' }).click();
    await expect(page.getByLabel('Model')).toHaveText(MODEL);
    await expect(page.getByText(prompt)).toBeVisible();
    await page.getByLabel('Model').click();
    await expect(page.getByRole('option')).toHaveText(['openai/gpt-4o-mini', MODEL]);
    await page.keyboard.press('Escape');
  } finally {
    const reset = await page.request.put('/api/ai/config', {
      headers,
      data: {
        enabledModels: { chat: [] },
        defaultModels: { chat: null },
        systemPrompt: null,
        limits: { requestsPerMinute: null, tokensPerDay: null },
      },
    });
    expect(reset.status(), await reset.text()).toBe(200);
  }
});
