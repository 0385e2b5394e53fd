/**
 * The API's own documentation: the OpenAPI document generated from the route declarations, and a
 * readable reference page (Scalar's standalone bundle from npm, served from here: no CDN).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import {
  docMarkdownResponseSchema,
  docTypeParamsSchema,
  openApiDocumentSchema,
  sdkDocParamsSchema,
} from '@kiln/shared-schemas';
import { AppError } from '../core/errors.js';
import { route, type RouteGroup, type RouteRegistry } from '../core/route.js';
import { DOC_TYPES, docsMarkdown, isDocType } from './markdown.js';
import { openApiDocument } from './openapi.js';
import {
  SDK_FEATURES,
  SDK_LANGUAGES,
  isSdkFeature,
  isSdkLanguage,
  sdkDocType,
  sdkGuide,
} from './sdk-guides.js';

/** The page's own policy: the bundle and the document from here, its inline styles, no more. */
const REFERENCE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The page reads the document from data-url; its configuration keeps it offline (no web fonts
 * from Scalar's servers, no telemetry, no agent or registry look-ups, no developer tools
 * that would upload the document to share it).
 */
const REFERENCE_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Kiln API reference</title>
  </head>
  <body>
    <script
      id="api-reference"
      data-url="/api/docs"
      data-configuration='{"withDefaultFonts":false,"hideClientButton":true,"telemetry":false,"agent":{"disabled":true},"mcp":{"disabled":true},"showDeveloperTools":"never"}'
    ></script>
    <script src="/api/docs/reference/scalar.js"></script>
  </body>
</html>
`;

let bundle: Buffer | undefined;
/** Read on first use (3.5 MB), then kept. */
function scalarBundle(): Buffer {
  if (!bundle) {
    const require = createRequire(import.meta.url);
    bundle = fs.readFileSync(require.resolve('@scalar/api-reference/browser/standalone.js'));
  }
  return bundle;
}

export interface DocsRoutesOptions {
  version: string;
  apiBaseUrl: () => string;
}

export function docsRoutes(registry: RouteRegistry, options: DocsRoutesOptions): RouteGroup {
  // Routes do not change once the app is built; the document is made once per server URL.
  let cached: { url: string; doc: ReturnType<typeof openApiDocument> } | undefined;
  const document = () => {
    const url = options.apiBaseUrl();
    if (cached?.url !== url)
      cached = { url, doc: openApiDocument(options.version, url, registry.routes) };
    return cached.doc;
  };
  return {
    tag: 'docs',
    access: 'anyone',
    routes: [
      route({
        method: 'get',
        path: '/',
        summary: 'This OpenAPI 3.1 document',
        responses: { 200: openApiDocumentSchema },
        handler: document,
      }),
      route({
        method: 'get',
        path: '/reference',
        summary: 'A readable API reference (HTML page)',
        responses: { 200: { description: 'The reference page', content: 'html' } },
        handler: ({ res }) => {
          res.setHeader('Content-Security-Policy', REFERENCE_CSP);
          res.type('html').send(REFERENCE_HTML);
        },
      }),
      route({
        method: 'get',
        path: '/reference/scalar.js',
        summary: 'The reference page’s script (@scalar/api-reference standalone bundle)',
        responses: { 200: { description: 'JavaScript', content: 'javascript' } },
        handler: ({ res }) => {
          res.setHeader('Cache-Control', 'public, max-age=86400');
          res.type('text/javascript').send(scalarBundle());
        },
      }),
      route({
        method: 'get',
        path: '/:type',
        summary: "One area's reference in Markdown (InsForge's doc types)",
        description:
          `Types: ${Object.keys(DOC_TYPES)
            .map((t) => `\`${t}\``)
            .join(', ')}. Generated from ` +
          "this document. JSON `{type, content}` (InsForge's shape), or the Markdown itself when " +
          'the request prefers `Accept: text/markdown`.',
        params: docTypeParamsSchema,
        responses: {
          200: {
            description: 'The Markdown reference',
            schema: docMarkdownResponseSchema,
            content: ['json', 'markdown'],
          },
        },
        errors: { 404: ['DOCS_NOT_FOUND'] },
        handler: ({ params, req, res }) => {
          if (!isDocType(params.type))
            throw new AppError(
              404,
              'DOCS_NOT_FOUND',
              `No documentation of type ${params.type}`,
              `Use one of ${Object.keys(DOC_TYPES).join(', ')}.`,
            );
          const content = docsMarkdown(document(), params.type);
          if (req.accepts(['application/json', 'text/markdown']) === 'text/markdown') {
            res.type('text/markdown; charset=utf-8').send(content);
            return;
          }
          return { type: params.type, content };
        },
      }),
      route({
        method: 'get',
        path: '/:feature/:language',
        summary: "How to use one area from a client, per language (InsForge's SDK docs paths)",
        description:
          `Features: ${Object.keys(SDK_FEATURES)
            .map((f) => `\`${f}\``)
            .join(', ')}; languages: ${SDK_LANGUAGES.map((l) => `\`${l}\``).join(', ')}. ` +
          '`typescript`: a guide to `@insforge/sdk` against Kiln and the endpoints behind it; ' +
          "`rest-api`: the generated endpoint reference. JSON `{type, content}` with InsForge's " +
          'type names (`db-sdk-typescript`, `db-rest-api`), or the Markdown itself when the ' +
          'request prefers `Accept: text/markdown`.',
        params: sdkDocParamsSchema,
        responses: {
          200: {
            description: 'The Markdown guide',
            schema: docMarkdownResponseSchema,
            content: ['json', 'markdown'],
          },
        },
        errors: { 404: ['DOCS_NOT_FOUND'] },
        handler: ({ params: { feature, language }, req, res }) => {
          if (!isSdkFeature(feature) || !isSdkLanguage(language))
            throw new AppError(
              404,
              'DOCS_NOT_FOUND',
              `No documentation for ${feature.slice(0, 40)} in ${language.slice(0, 40)}`,
              `Features: ${Object.keys(SDK_FEATURES).join(', ')}; languages: ${SDK_LANGUAGES.join(', ')}.`,
            );
          const content = sdkGuide(document(), feature, language);
          if (req.accepts(['application/json', 'text/markdown']) === 'text/markdown') {
            res.type('text/markdown; charset=utf-8').send(content);
            return;
          }
          return { type: sdkDocType(feature, language), content };
        },
      }),
    ],
  };
}
