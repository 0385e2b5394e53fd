import { z } from 'zod';

const MAX_FUNCTION_CODE = 1024 * 1024;

/** POST /api/functions (the slug defaults to one made from the name). */
export const createFunctionRequestSchema = z.object({
  name: z.string().min(1).max(255),
  slug: z.string().optional(),
  code: z.string().min(1).max(MAX_FUNCTION_CODE),
  description: z.string().max(2000).nullable().optional(),
  status: z.enum(['draft', 'active']).default('active'),
  /** The project API key (admin over everything) as API_KEY in the function's environment. */
  apiKeyAccess: z.boolean().default(false),
});
export type CreateFunctionRequest = z.input<typeof createFunctionRequestSchema>;

/** PUT /api/functions/{slug}: at least one field. */
export const updateFunctionRequestSchema = z
  .object({
    name: z.string().min(1).max(255).optional(),
    code: z.string().min(1).max(MAX_FUNCTION_CODE).optional(),
    description: z.string().max(2000).nullable().optional(),
    status: z.enum(['draft', 'active']).optional(),
    apiKeyAccess: z.boolean().optional(),
  })
  .refine((v) => Object.keys(v).length > 0, 'send name, code, description, status or apiKeyAccess');
export type UpdateFunctionRequest = z.infer<typeof updateFunctionRequestSchema>;

export const functionSlugParamsSchema = z.object({ slug: z.string() });

/** A Deno Subhosting deployment (null with local Deno, or before the first deploy). */
export const functionDeploymentSchema = z.object({
  id: z.string(),
  status: z.string().nullable(),
  url: z.string().nullable(),
  error: z.string().nullable(),
});

export const edgeFunctionSchema = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  status: z.enum(['draft', 'active']),
  version: z.number().int(),
  apiKeyAccess: z.boolean(),
  /** In single-function answers only. */
  code: z.string().optional(),
  deployment: functionDeploymentSchema.nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  deployedAt: z.iso.datetime().nullable(),
});
export type EdgeFunction = z.infer<typeof edgeFunctionSchema>;

/**
 * `diagnostics` of a 400 FUNCTION_INVALID_CODE answer: Deno's error when the code does not load,
 * the module named `<slug>.ts`, and the 1-based line and column of the failing spot when Deno
 * gave one (syntax errors, errors thrown while the module ran).
 */
export const functionDiagnosticsSchema = z.object({
  name: z.string(),
  message: z.string(),
  stack: z.string().optional(),
  line: z.number().int().optional(),
  column: z.number().int().optional(),
});
export type FunctionDiagnostics = z.infer<typeof functionDiagnosticsSchema>;

/** GET /api/functions */
export const listFunctionsResponseSchema = z.object({
  functions: z.array(edgeFunctionSchema),
  runtime: z.object({
    provider: z.enum(['local', 'subhosting']),
    /** InsForge's field: whether functions can run (Kiln does not start without its runtime). */
    status: z.enum(['running', 'unavailable']),
  }),
});
export type ListFunctionsResponse = z.infer<typeof listFunctionsResponseSchema>;

/** POST, PUT /api/functions… and POST /api/functions/{slug}/deploy */
export const functionChangedResponseSchema = z.object({
  success: z.literal(true),
  function: edgeFunctionSchema,
});

/** GET /api/functions/{slug}/deployment */
export const functionDeploymentResponseSchema = z.object({
  provider: z.enum(['local', 'subhosting']),
  deployment: functionDeploymentSchema.nullable(),
  buildLogs: z.array(z.object({ level: z.string(), message: z.string() })),
});
export type FunctionDeploymentResponse = z.infer<typeof functionDeploymentResponseSchema>;

/** DELETE /api/functions/{slug} */
export const functionDeletedResponseSchema = z.object({
  success: z.literal(true),
  message: z.string(),
});
