import { z } from 'zod';

/**
 * `POST /api/database/tables/preview` and `POST /api/database/tables/:table/schema/preview`:
 * the statements a table create or alter would run, in order. They are run in their
 * transaction and rolled back, so what is answered is exactly what the real call runs and an
 * invalid change fails here with the same error.
 */
export const tablePreviewResponseSchema = z.object({
  /** Each statement, as sent to PostgreSQL. */
  statements: z.array(z.string()),
  /** The statements as one script (`;` and a line between them). */
  sql: z.string(),
  message: z.string(),
});
export type TablePreviewResponse = z.infer<typeof tablePreviewResponseSchema>;
