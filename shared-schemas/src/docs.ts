import { z } from 'zod';

/** GET /api/docs: an OpenAPI 3.1 document (its inner structure is OpenAPI's, not Kiln's). */
export const openApiDocumentSchema = z.looseObject({
  openapi: z.literal('3.1.0'),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  servers: z.array(z.looseObject({ url: z.string() })),
  components: z.looseObject({
    securitySchemes: z.record(z.string(), z.unknown()),
    schemas: z.record(z.string(), z.unknown()),
  }),
  paths: z.record(z.string(), z.record(z.string(), z.unknown())),
});
export type OpenApiDocument = z.infer<typeof openApiDocumentSchema>;

/** `GET /api/docs/{type}`: one doc type (InsForge's names) as Markdown. */
export const docTypeParamsSchema = z.object({ type: z.string() });
export const docMarkdownResponseSchema = z.object({
  type: z.string(),
  /** Markdown generated from the route declarations. */
  content: z.string(),
});
export type DocMarkdownResponse = z.infer<typeof docMarkdownResponseSchema>;

/** `GET /api/docs/{feature}/{language}`: InsForge's SDK docs paths (checked by the route, 404 otherwise). */
export const sdkDocParamsSchema = z.object({ feature: z.string(), language: z.string() });
