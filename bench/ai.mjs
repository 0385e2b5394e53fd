#!/usr/bin/env node
// AI gateway benchmark (needs `pnpm build`). This process runs a fake OpenAI-compatible upstream
// that streams chat completions (SSE, each chunk stamped with the time it was written) and a
// client; a child process runs Kiln pointed at the upstream. For each request, measured from the
// same clock: time to first chunk, and each chunk's delay from being written by the upstream to
// arriving at the client. Directly from the upstream (baseline) and through Kiln's
// /api/ai/chat/completion, in the same run. Goal: ≤ 5 ms added at p50.
//
// Usage: node bench/ai.mjs [--requests 200] [--chunks 20]
import { fork } from 'node:child_process';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startKiln } from './lib.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const REQUESTS = arg('--requests', 200);
const CHUNKS = arg('--chunks', 20);
const KEY = 'sk-bench';
const MODEL = 'bench/model';
const now = () => performance.timeOrigin + performance.now();

async function kilnServer(upstreamUrl) {
  const kiln = await startKiln({
    name: 'ai',
    env: { OPENROUTER_API_KEY: KEY, OPENROUTER_BASE_URL: upstreamUrl },
  });
  const url = await kiln.listen();
  process.on('message', async (m) => {
    if (m === 'stop') {
      await kiln.stop();
      process.exit(0);
    }
  });
  process.send({ url, apiKey: kiln.apiKey });
}

function startUpstream() {
  const server = http.createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    if (req.url.endsWith('/models')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: MODEL, object: 'model' }] }));
      return;
    }
    const { stream_options: options } = JSON.parse(body);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (let i = 0; i < CHUNKS; i++) {
      // The chunk carries the moment it was written: "<index>@<ms>".
      const frame = {
        id: 'c',
        object: 'chat.completion.chunk',
        model: MODEL,
        choices: [{ index: 0, delta: { content: `${i}@${now()};` }, finish_reason: null }],
      };
      res.write(`data: ${JSON.stringify(frame)}\n\n`);
      await new Promise((r) => setTimeout(r, 2));
    }
    if (options?.include_usage) {
      const usage = { prompt_tokens: 5, completion_tokens: CHUNKS, total_tokens: 5 + CHUNKS };
      res.write(
        `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model: MODEL, choices: [], usage })}\n\n`,
      );
    }
    res.end('data: [DONE]\n\n');
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${server.address().port}/v1` }),
    ),
  );
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** One streamed request; returns time to first chunk and each chunk's delay. */
function streamOnce(url, token, body, extract) {
  return new Promise((resolve, reject) => {
    const started = now();
    let first;
    const delays = [];
    let buffer = '';
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      },
      (res) => {
        if (res.statusCode !== 200) reject(new Error(`${url}: ${res.statusCode}`));
        res.setEncoding('utf8');
        res.on('data', (d) => {
          const at = now();
          buffer += d;
          const events = buffer.split('\n\n');
          buffer = events.pop();
          for (const e of events) {
            if (!e.startsWith('data: ') || e === 'data: [DONE]') continue;
            const text = extract(JSON.parse(e.slice(6)));
            if (!text) continue;
            for (const piece of text.split(';').filter(Boolean)) {
              const sentAt = Number(piece.split('@')[1]);
              first ??= at - started;
              delays.push(at - sentAt);
            }
          }
        });
        res.on('end', () => resolve({ first, delays }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function measure(run) {
  for (let i = 0; i < 20; i++) await run(); // warm-up
  const firsts = [];
  const delays = [];
  for (let i = 0; i < REQUESTS; i++) {
    const r = await run();
    firsts.push(r.first);
    delays.push(...r.delays);
  }
  return { firsts, delays };
}

async function driver() {
  const upstream = await startUpstream();
  const child = fork(fileURLToPath(import.meta.url), ['--server', upstream.url], {
    stdio: 'inherit',
  });
  process.on('exit', () => child.kill());
  const kiln = await new Promise((resolve) => child.once('message', resolve));
  const messages = [{ role: 'user', content: 'stream please' }];

  const direct = await measure(() =>
    streamOnce(
      `${upstream.url}/chat/completions`,
      KEY,
      { model: MODEL, messages, stream: true },
      (e) => e.choices?.[0]?.delta?.content,
    ),
  );
  const through = await measure(() =>
    streamOnce(
      `${kiln.url}/api/ai/chat/completion`,
      kiln.apiKey,
      { model: MODEL, messages, stream: true },
      (e) => e.chunk,
    ),
  );
  child.send('stop');
  await new Promise((r) => child.once('exit', r));
  upstream.server.close();

  const f = (x) => x.toFixed(2);
  console.log(`\n${REQUESTS} streamed chats of ${CHUNKS} chunks each (2 ms apart), sequential\n`);
  console.log('| path | first chunk p50 | first chunk p99 | chunk delay p50 | chunk delay p99 |');
  console.log('|---|---|---|---|---|');
  for (const [name, r] of [
    ['upstream directly', direct],
    ['through Kiln', through],
  ]) {
    console.log(
      `| ${name} | ${f(pct(r.firsts, 50))} ms | ${f(pct(r.firsts, 99))} ms | ${f(pct(r.delays, 50))} ms | ${f(pct(r.delays, 99))} ms |`,
    );
  }
  const addedFirst = pct(through.firsts, 50) - pct(direct.firsts, 50);
  const addedChunk = pct(through.delays, 50) - pct(direct.delays, 50);
  console.log(
    `\nadded by Kiln at p50: first chunk ${f(addedFirst)} ms, per chunk ${f(addedChunk)} ms — target ≤ 5 ms: ${addedFirst <= 5 && addedChunk <= 5 ? 'met' : 'NOT met'}`,
  );
  process.exit(0);
}

if (process.argv.includes('--server')) await kilnServer(process.argv.at(-1));
else await driver();
