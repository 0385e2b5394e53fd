/**
 * The API's own documentation: the OpenAPI document generated from the route declarations, and a
 * readable reference page (Scalar's standalone bundle from npm, served from here: no CDN).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { openApiDocumentSchema } from '@kiln/shared-schemas';
import { route, type RouteGroup, type RouteRegistry } from '../core/route.js';
import { openApiDocument } from './openapi.js';

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
 * from Scalar's servers).
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
      data-configuration='{"withDefaultFonts":false,"hideClientButton":true}'
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
  return {
    tag: 'docs',
    access: 'anyone',
    routes: [
      route({
        method: 'get',
        path: '/',
        summary: 'This OpenAPI 3.1 document',
        responses: { 200: openApiDocumentSchema },
        handler: () => {
          const url = options.apiBaseUrl();
          if (cached?.url !== url)
            cached = { url, doc: openApiDocument(options.version, url, registry.routes) };
          return cached.doc;
        },
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
    ],
  };
}
