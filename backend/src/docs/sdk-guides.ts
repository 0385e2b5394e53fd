/**
 * `GET /api/docs/:feature/:language` (InsForge's SDK docs paths): how to use one of Kiln's areas
 * from a client. `typescript` is a short guide to `@insforge/sdk` against Kiln (written here,
 * for Kiln's behaviour) followed by the endpoints behind it, generated from the route
 * declarations; `rest-api` is the area's generated endpoint reference (as `GET /api/docs/{type}`).
 * Kiln has no Swift or Kotlin guides, nor payments: those answer 404 naming what exists.
 */
import { DOC_TYPES, docsMarkdown, type DocType, type OpenApiLike } from './markdown.js';

/** InsForge's SDK features that Kiln has, and the doc type holding each one's endpoints. */
export const SDK_FEATURES = {
  db: 'db-sdk',
  storage: 'storage-sdk',
  functions: 'functions-sdk',
  auth: 'auth-sdk',
  ai: 'ai-integration-sdk',
  realtime: 'real-time',
} as const satisfies Record<string, DocType>;
export type SdkFeature = keyof typeof SDK_FEATURES;

export const SDK_LANGUAGES = ['typescript', 'rest-api'] as const;
export type SdkLanguage = (typeof SDK_LANGUAGES)[number];

export const isSdkFeature = (value: string): value is SdkFeature =>
  Object.hasOwn(SDK_FEATURES, value);
export const isSdkLanguage = (value: string): value is SdkLanguage =>
  (SDK_LANGUAGES as readonly string[]).includes(value);

/** InsForge's name of a guide: `db-sdk-typescript`, `db-rest-api`. */
export const sdkDocType = (feature: SdkFeature, language: SdkLanguage) =>
  language === 'rest-api' ? `${feature}-rest-api` : `${feature}-sdk-${language}`;

const ts = (code: string) => ['```ts', code.trim(), '```', ''];

/** The client every guide starts from. */
const SETUP = [
  'Install the client with `npm install @insforge/sdk` and point it at this server:',
  '',
  ...ts(`
import { createClient } from '@insforge/sdk';

const kiln = createClient({ baseUrl: BASE_URL, anonKey: ANON_KEY });
`),
  "Every call answers `{ data, error }`; `error` carries Kiln's `{error, message, statusCode, " +
    "nextActions}` envelope. After a sign-in the client sends the user's access token and " +
    'refreshes it by itself.',
  '',
];

/** Per feature: the guide's body (Markdown lines), in Kiln's terms. */
const GUIDES: Record<SdkFeature, string[]> = {
  db: [
    'Tables are read and written through the PostgREST protocol at `/api/database/records/{table}`, ' +
      'under row-level security: what a caller sees and changes is what the policies let its role ' +
      '(`anon`, `authenticated`) reach. New tables are born with RLS on.',
    '',
    ...ts(`
// Read: filters, ordering, ranges, embedded relations.
const { data: posts } = await kiln.database
  .from('posts')
  .select('id, title, author:profiles(name)')
  .eq('published', true)
  .order('created_at', { ascending: false })
  .range(0, 19);

// Write: insert answers the rows when asked to.
const { data: created, error } = await kiln.database
  .from('posts')
  .insert({ title: 'Hello', published: false })
  .select()
  .single();

await kiln.database.from('posts').update({ published: true }).eq('id', created.id);
await kiln.database.from('posts').delete().eq('id', created.id);

// Call a SQL function (POST /api/database/rpc/{fn}).
const { data: total } = await kiln.database.rpc('count_posts', { author: 'ada' });
`),
    'Tables, columns, policies and migrations are managed with the API key through the admin ' +
      'endpoints below (`/api/database/tables`, `/api/database/migrations`, …).',
    '',
  ],
  auth: [
    'Users sign up and in with a password, a one-time code, OAuth (built-in providers and custom ' +
      'OpenID Connect), an ID token, or anonymously; `GET /api/auth/public-config` says which are ' +
      'enabled and what a password must contain.',
    '',
    ...ts(`
const { data: signedUp, error } = await kiln.auth.signUp({
  email: 'ada@example.com',
  password: 'correct horse battery',
  name: 'Ada',
});
// With email verification on, signedUp.requireEmailVerification is true: verify, then sign in.

const { data: session } = await kiln.auth.signInWithPassword({
  email: 'ada@example.com',
  password: 'correct horse battery',
});

// OAuth: the browser goes to the provider and comes back to redirectTo with a code the SDK exchanges.
await kiln.auth.signInWithOAuth('github', { redirectTo: 'https://app.example.com/auth/done' });

const { data: me } = await kiln.auth.getCurrentUser();
await kiln.auth.setProfile({ name: 'Ada L.', avatar_url: 'https://example.com/ada.png' });
await kiln.auth.signOut();
`),
    'A redirect target must be listed in the auth settings (`allowedRedirectUrls`).',
    '',
  ],
  storage: [
    'Files live in buckets; a public bucket is readable without a key, a private one by its ' +
      "objects' owners (row-level security on the objects table). Large files may go straight to " +
      'the storage backend: the SDK follows the upload strategy the server answers.',
    '',
    ...ts(`
const photos = kiln.storage.from('photos');

// Upload under a key of your choice (replaces an existing one), or let the server pick the key.
const { data: file } = await photos.upload('avatars/ada.png', blob);
const { data: auto } = await photos.uploadAuto(blob);

const { data: bytes } = await photos.download('avatars/ada.png'); // a Blob
const { data: listed } = await photos.list({ prefix: 'avatars/', limit: 50 });
const { data: signed } = await photos.createSignedUrl('avatars/ada.png', 3600);

// Remove one key, or many: one result per key (deleted, notFound or failed).
await photos.remove(['avatars/ada.png', 'avatars/old.png']);
`),
    'Buckets are created and changed with the API key (`POST /api/storage/buckets`).',
    '',
  ],
  functions: [
    'Edge functions are Deno modules whose default export answers a `Request`; they read the ' +
      "project's secrets from `Deno.env` and are deployed with the API key (`POST /api/functions`).",
    '',
    ...ts(`
// Deployed once by an admin: export default async (req: Request) => Response.json({ hi: true });

const { data, error } = await kiln.functions.invoke('hello', {
  body: { name: 'Ada' },
});
`),
    "The caller's token reaches the function in its `Authorization` header.",
    '',
  ],
  ai: [
    'The AI gateway relays chat, embeddings and image generation to the OpenAI-compatible upstream ' +
      'the server is configured with (OpenRouter by default), keeping its key on the server, ' +
      'enforcing the enabled models and per-user allowances, and recording usage.',
    '',
    ...ts(`
const reply = await kiln.ai.chat.completions.create({
  model: 'openai/gpt-4o-mini',
  messages: [{ role: 'user', content: 'Name three glazes.' }],
});
console.log(reply.choices[0].message.content);

// Streamed: an async iterable of chunks.
const stream = await kiln.ai.chat.completions.create({
  model: 'openai/gpt-4o-mini',
  messages: [{ role: 'user', content: 'Tell me a story.' }],
  stream: true,
});
for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? '');

const embedded = await kiln.ai.embeddings.create({
  model: 'openai/text-embedding-3-small',
  input: 'a kiln',
});
const images = await kiln.ai.images.generate({ model: 'google/gemini-image', prompt: 'a kiln' });
`),
    'Admins choose the enabled models, the default ones and the allowances with `PUT /api/ai/config`.',
    '',
  ],
  realtime: [
    'Realtime is Socket.IO at the server root. A client subscribes to channels whose patterns an ' +
      "admin created (`POST /api/realtime/channels`); the database publishes with `realtime.publish(channel, event, payload)`, and clients may publish where the channel's policies allow.",
    '',
    ...ts(`
await kiln.realtime.connect();
const { ok } = await kiln.realtime.subscribe('orders:42');

kiln.realtime.on('status_changed', (message) => {
  console.log(message.payload);
});

await kiln.realtime.publish('orders:42', 'note_added', { text: 'left at the door' });

kiln.realtime.unsubscribe('orders:42');
kiln.realtime.disconnect();
`),
    '',
  ],
};

/** The endpoints of a doc type, one line each (the typescript guide's appendix). */
function endpointList(doc: OpenApiLike, type: DocType): string[] {
  const { tags } = DOC_TYPES[type];
  const lines: string[] = [];
  for (const [path, byMethod] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(byMethod)) {
      const o = op as { tags?: string[]; summary?: string };
      if (tags && o.tags?.some((tag) => (tags as readonly string[]).includes(tag)))
        lines.push(
          `- \`${method.toUpperCase()} ${path}\`: ${(o.summary ?? '').replace(/\n+/g, ' ')}`,
        );
    }
  return lines;
}

/** The Markdown of one feature in one language. */
export function sdkGuide(doc: OpenApiLike, feature: SdkFeature, language: SdkLanguage): string {
  const type = SDK_FEATURES[feature];
  if (language === 'rest-api') return docsMarkdown(doc, type);
  const base = doc.servers?.[0]?.url ?? '';
  const lines = [
    `# ${DOC_TYPES[type].title}: TypeScript (@insforge/sdk)`,
    '',
    `${doc.info.title} ${doc.info.version}, ${base}`,
    '',
    ...SETUP,
    '## Usage',
    '',
    ...GUIDES[feature],
    '## Endpoints',
    '',
    `What the calls above reach (details with their request and response shapes: \`GET /api/docs/${feature}/rest-api\`).`,
    '',
    ...endpointList(doc, type),
  ];
  return `${lines.join('\n').trimEnd()}\n`;
}
