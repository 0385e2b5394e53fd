/**
 * Starts the table editor's requests as soon as the route matches (router.tsx's loader imports
 * this lazily), in parallel with its lazy chunks: the table's description and the enums, then
 * the first page of rows (its order needs the primary key from the description). The editor's
 * queries then find them in the cache.
 */
import { queryClient } from '../../lib/query';
import { enumsQuery, rowsQueryOf, rowsQueryOptions, tableDescriptionQuery } from './hooks';
import type { TableSearch } from './search';

export function prefetchTable(table: string, search: TableSearch): void {
  const schema = search.schema ?? 'public';
  void queryClient.prefetchQuery(enumsQuery());
  void queryClient
    .ensureQueryData(tableDescriptionQuery(schema, table))
    .then((desc) => {
      if ((search.tab ?? 'rows') !== 'rows') return;
      return queryClient.prefetchQuery(rowsQueryOptions(rowsQueryOf(schema, table, desc, search)));
    })
    .catch(() => {
      // The editor's own queries show the error.
    });
}
