/**
 * Markdown references per area, generated from this server's OpenAPI document (itself generated
 * from the route declarations): what `GET /api/docs/:type` answers under InsForge's doc types,
 * so agents and InsForge's MCP server read Kiln's actual API, not a copy of another project's.
 */

/** InsForge's doc types for the areas Kiln has, and the route tags each one covers. */
export const DOC_TYPES = {
  instructions: { title: 'Kiln API overview', tags: null },
  'db-sdk': {
    title: 'Database: records (PostgREST protocol) and administration',
    tags: ['records', 'database'],
  },
  'auth-sdk': { title: 'Auth', tags: ['auth'] },
  'storage-sdk': { title: 'Storage', tags: ['storage'] },
  'functions-sdk': { title: 'Edge functions', tags: ['functions'] },
  'ai-integration-sdk': { title: 'AI gateway', tags: ['ai'] },
  'real-time': { title: 'Realtime', tags: ['realtime'] },
} as const satisfies Record<string, { title: string; tags: readonly string[] | null }>;

export type DocType = keyof typeof DOC_TYPES;

export function isDocType(value: string): value is DocType {
  return Object.hasOwn(DOC_TYPES, value);
}

type Json = Record<string, unknown>;

interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; description?: string }[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown }> };
  responses?: Record<
    string,
    { description?: string; content?: Record<string, { schema?: unknown }> }
  >;
}

export interface OpenApiLike {
  info: { title: string; version: string; description?: string };
  servers?: { url: string }[];
  paths: Record<string, Record<string, unknown>>;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head'];

function operations(doc: OpenApiLike, tags: readonly string[] | null) {
  const found: { method: string; path: string; op: Operation }[] = [];
  for (const [path, byMethod] of Object.entries(doc.paths))
    for (const method of METHODS) {
      const op = byMethod[method] as Operation | undefined;
      if (op && (!tags || op.tags?.some((tag) => tags.includes(tag))))
        found.push({ method, path, op });
    }
  return found;
}

const cell = (text: string | undefined) => (text ?? '').replace(/\|/g, '\\|').replace(/\n+/g, ' ');

function schemaBlock(schema: unknown): string[] {
  if (!schema || (typeof schema === 'object' && Object.keys(schema as Json).length === 0))
    return [];
  return ['```json', JSON.stringify(schema, null, 2), '```'];
}

function operationMarkdown(method: string, path: string, op: Operation): string[] {
  const lines = [`### \`${method.toUpperCase()} ${path}\``, ''];
  if (op.summary) lines.push(op.summary, '');
  if (op.description) lines.push(op.description, '');
  if (op.parameters?.length) {
    lines.push('Parameters:', '', '| name | in | required | description |', '|---|---|---|---|');
    for (const p of op.parameters)
      lines.push(
        `| \`${p.name}\` | ${p.in} | ${p.required ? 'yes' : 'no'} | ${cell(p.description)} |`,
      );
    lines.push('');
  }
  for (const [media, { schema }] of Object.entries(op.requestBody?.content ?? {})) {
    lines.push(`Request body (\`${media}\`${op.requestBody?.required ? '' : ', optional'}):`, '');
    const block = schemaBlock(schema);
    if (block.length) lines.push(...block, '');
  }
  lines.push('Responses:', '');
  const errors: string[] = [];
  for (const [status, response] of Object.entries(op.responses ?? {})) {
    if (!/^[23]/.test(status)) {
      errors.push(`- \`${status}\`: ${cell(response.description)}`);
      continue;
    }
    lines.push(`- \`${status}\`: ${cell(response.description)}`);
    for (const [media, { schema }] of Object.entries(response.content ?? {})) {
      const block = schemaBlock(schema);
      if (block.length && media === 'application/json') lines.push('', ...block);
    }
  }
  lines.push(...errors, '');
  return lines;
}

/** The Markdown reference of one doc type. */
export function docsMarkdown(doc: OpenApiLike, type: DocType): string {
  const { title, tags } = DOC_TYPES[type];
  const ops = operations(doc, tags);
  const base = doc.servers?.[0]?.url ?? '';
  const lines = [`# ${title}`, '', `${doc.info.title} ${doc.info.version}, ${base}`, ''];
  if (tags === null) {
    // The overview: every area's endpoints, one line each; the other types give the details.
    if (doc.info.description) lines.push(doc.info.description, '');
    lines.push(
      'Send the anon key, a user access token or the API key as `Authorization: Bearer …`. ' +
        'The full OpenAPI 3.1 document is `GET /api/docs`; each area in Markdown is ' +
        `\`GET /api/docs/{type}\` with type one of ${Object.keys(DOC_TYPES)
          .filter((t) => t !== 'instructions')
          .map((t) => `\`${t}\``)
          .join(', ')}; how to call an area from a client: ` +
        '`GET /api/docs/{feature}/{language}` (for example `/api/docs/db/typescript`).',
      '',
    );
    const byTag = new Map<string, string[]>();
    for (const { method, path, op } of ops) {
      const tag = op.tags?.[0] ?? 'other';
      const list = byTag.get(tag) ?? [];
      list.push(`- \`${method.toUpperCase()} ${path}\`: ${cell(op.summary)}`);
      byTag.set(tag, list);
    }
    for (const [tag, list] of [...byTag].sort(([a], [b]) => a.localeCompare(b)))
      lines.push(`## ${tag}`, '', ...list, '');
  } else {
    lines.push(
      `Every endpoint of this area, generated from the route declarations (${ops.length}).`,
      '',
    );
    for (const { method, path, op } of ops) lines.push(...operationMarkdown(method, path, op));
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
