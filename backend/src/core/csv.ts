/**
 * CSV output (RFC 4180), written by the csv-stringify package: a header row of the first row's
 * keys, then one record per row; a field is quoted when it holds a comma, a quote (doubled) or a
 * line break. null is an empty field, booleans are `true`/`false`, objects and arrays are JSON.
 *
 * Cells are written exactly as stored: no formula-injection rewriting (a `'` before a leading
 * `=`, `+`, `-`, `@`). This CSV is a data format of the API (PostgREST's `Accept: text/csv`), read
 * by programs and imported back; rewriting would corrupt values such as `-5` or `=x` for every
 * such reader. Opening it in a spreadsheet is the reader's choice, as with PostgREST.
 */
import { stringify } from 'csv-stringify/sync';

export function rowsToCsv(rows: ReadonlyArray<Record<string, unknown>>): string {
  if (!rows.length) return '';
  return stringify(rows as Array<Record<string, unknown>>, {
    header: true,
    columns: Object.keys(rows[0]!),
    // Records end with \n (the default, which also quotes a lone \r); none after the last.
    eof: false,
    cast: {
      boolean: (v) => String(v),
      object: (v) => JSON.stringify(v),
    },
  });
}
