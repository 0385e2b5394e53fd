/** The Storage area's URL state: the open bucket, the folder (key prefix), the search and page. */
import { optionalInt, optionalString } from '../../lib/search';

export interface StorageSearch {
  bucket?: string;
  /** The folder shown, a key prefix ending in "/" (the bucket's root when absent). */
  prefix?: string;
  search?: string;
  offset?: number;
  /** The file previewed (its whole key). */
  file?: string;
}

export function storageSearch(s: Record<string, unknown>): StorageSearch {
  return {
    bucket: optionalString(s.bucket),
    prefix: optionalString(s.prefix),
    search: optionalString(s.search),
    offset: optionalInt(s.offset),
    file: optionalString(s.file),
  };
}
