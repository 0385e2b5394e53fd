/**
 * TRANSITIONAL: the hand-written entries of /api/docs for routes not yet declared with
 * `core/route.ts`. An area converted to declarations loses its entries here (the declared-routes
 * test fails while a declared route is still listed); when every area is declared this file goes.
 */
import type { z } from 'zod';

export type Auth = 'none' | 'any' | 'user' | 'admin';

export interface Endpoint {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head';
  path: string;
  summary: string;
  tag: string;
  auth: Auth;
  body?: z.ZodType;
  multipart?: boolean;
  parameters?: Array<{
    name: string;
    in: 'query' | 'path' | 'header';
    description: string;
    required?: boolean;
  }>;
}

export const LEGACY_ENDPOINTS: Endpoint[] = [];
