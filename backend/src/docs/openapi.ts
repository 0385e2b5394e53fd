/**
 * The OpenAPI 3.1 document served at /api/docs, generated from the route declarations
 * (`core/route.ts`): the schemas documented are the ones that parse requests and, in tests,
 * check responses. Every route is declared, so the document is complete.
 */
import { z } from 'zod';
import { errorEnvelopeSchema } from '@kiln/shared-schemas';
import {
  MEDIA_TYPES,
  errorsOf,
  mediaKinds,
  responseDecl,
  type Access,
  type MediaKind,
  type RegisteredRoute,
} from '../core/route.js';

type JsonSchema = Record<string, unknown>;

/** A zod schema as JSON Schema (draft 2020-12, what OpenAPI 3.1 uses), as it is on the wire. */
export function jsonSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    // A named format (date-time, email, uuid) says it; zod's long regex for it only adds noise.
    override: ({ jsonSchema }) => {
      if (jsonSchema.format && jsonSchema.pattern) delete jsonSchema.pattern;
    },
  }) as JsonSchema;
  return rest;
}

const SECURITY: Record<Access, Array<Record<string, string[]>>> = {
  anyone: [],
  anyKey: [{ anonKey: [] }, { bearer: [] }, { apiKey: [] }],
  user: [{ bearer: [] }, { apiKey: [] }],
  admin: [{ bearer: [] }, { apiKey: [] }],
};

const ACCESS_TEXT: Record<Access, string | undefined> = {
  anyone: undefined,
  anyKey: 'Requires the anon key, a user session or the API key.',
  user: 'Requires a user session (an admin JWT or the API key act as a user too).',
  admin: 'Requires an admin JWT or the API key.',
};

function mediaSchema(kind: MediaKind, schema?: z.ZodType): JsonSchema {
  if (schema && (kind === 'json' || kind === 'multipart')) return jsonSchema(schema);
  if (kind === 'bytes') return { type: 'string', format: 'binary' };
  return { type: 'string' };
}

/** Path or query parameters from an object schema (transforms and refinements see through). */
function parametersOf(where: 'path' | 'query', schema: z.ZodType | undefined): JsonSchema[] {
  if (!schema) return [];
  const object = jsonSchema(schema);
  const properties = (object.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((object.required ?? []) as string[]);
  return Object.entries(properties).map(([name, s]) => {
    const { description, ...rest } = s;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

/** `get` + `/api/secrets/{key}` → `getApiSecretsByKey` (unique per method and path). */
function operationId(method: string, path: string): string {
  const words = path
    .split('/')
    .filter(Boolean)
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment)?.[1];
      const word = (param ? `by-${param}` : segment).replace(
        /[^A-Za-z0-9]+(.)?/g,
        (_m, c: string) => (c ? c.toUpperCase() : ''),
      );
      return word.charAt(0).toUpperCase() + word.slice(1);
    });
  return method + words.join('');
}

function operationOf(r: RegisteredRoute): JsonSchema {
  const { decl } = r;
  const pathNames = [...r.openApiPath.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  const declaredPath = parametersOf('path', decl.params);
  const parameters = [
    ...declaredPath,
    ...pathNames
      .filter((name) => !declaredPath.some((p) => p.name === name))
      .map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
    ...parametersOf('query', decl.query),
    ...Object.entries(decl.requestHeaders ?? {}).map(([name, description]) => ({
      name,
      in: 'header',
      required: false,
      description,
      schema: { type: 'string' },
    })),
  ];
  const bodyKind = decl.bodyType ?? 'json';
  const requestBody =
    decl.body || bodyKind !== 'json'
      ? {
          required: decl.body ? !decl.body.safeParse(undefined).success : true,
          content: { [MEDIA_TYPES[bodyKind]]: { schema: mediaSchema(bodyKind, decl.body) } },
        }
      : undefined;
  const responses: Record<string, JsonSchema> = {};
  for (const [status, value] of Object.entries(decl.responses)) {
    const response = responseDecl(value);
    const kinds = mediaKinds(response);
    responses[status] = {
      description: response.description,
      ...(response.headers
        ? {
            headers: Object.fromEntries(
              Object.entries(response.headers).map(([name, description]) => [
                name,
                { description, schema: { type: 'string' } },
              ]),
            ),
          }
        : {}),
      ...(kinds.length
        ? {
            content: Object.fromEntries(
              kinds.map((kind) => [
                MEDIA_TYPES[kind],
                { schema: mediaSchema(kind, response.schema) },
              ]),
            ),
          }
        : {}),
    };
  }
  if (r.errorShape) {
    // An area with errors of its own shape (PostgREST's): one response for every error status.
    responses.default ??= {
      description: `Error (${r.errorShape.name}), any status from 300`,
      content: {
        'application/json': { schema: { $ref: `#/components/schemas/${r.errorShape.name}` } },
      },
    };
  }
  for (const [status, codes] of [...errorsOf(r)].sort(([a], [b]) => a - b)) {
    if (responses[status] || r.errorShape) continue;
    const list = [...codes];
    responses[String(status)] = {
      description: `Error: ${list.join(', ')}`,
      content: {
        'application/json': {
          schema: {
            allOf: [
              { $ref: '#/components/schemas/Error' },
              { type: 'object', properties: { error: { enum: list } } },
            ],
          },
        },
      },
    };
  }
  const accessText = ACCESS_TEXT[r.access];
  const description = [decl.description, accessText].filter(Boolean).join('\n\n');
  return {
    operationId: operationId(r.method, r.openApiPath),
    summary: decl.summary,
    ...(description ? { description } : {}),
    tags: [r.tag],
    security: SECURITY[r.access],
    ...(parameters.length ? { parameters } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses,
  };
}

export function openApiDocument(
  version: string,
  serverUrl: string,
  routes: readonly RegisteredRoute[],
) {
  const paths: Record<string, Record<string, unknown>> = {};
  const tags = new Set<string>();
  const schemas: Record<string, JsonSchema> = { Error: jsonSchema(errorEnvelopeSchema) };
  for (const r of routes) {
    (paths[r.openApiPath] ??= {})[r.method] = operationOf(r);
    tags.add(r.tag);
    if (r.errorShape) schemas[r.errorShape.name] ??= jsonSchema(r.errorShape.schema);
  }
  return {
    openapi: '3.1.0' as const,
    info: {
      title: 'Kiln API',
      version,
      description:
        'Kiln backend-as-a-service. Records and RPC endpoints speak the PostgREST protocol ' +
        '(their filters, ordering and Prefer grammar are PostgREST’s). Every other error is the ' +
        'envelope `{error, message, statusCode, nextActions?}`.',
    },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }, { apiKey: [] }],
    tags: [...tags].sort().map((name) => ({ name })),
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A user access JWT, an admin JWT, or the API key (ik_…) as a bearer token',
        },
        apiKey: {
          type: 'apiKey',
          in: 'header',
          name: 'x-api-key',
          description: 'The project API key (ik_…): admin over everything',
        },
        anonKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'The anon key (anon_…): a client without a signed-in user',
        },
      },
      schemas,
    },
    paths,
  };
}
