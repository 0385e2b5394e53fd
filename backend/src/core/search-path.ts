/**
 * The search path of everything Kiln runs as itself: only the system catalog, then (explicitly
 * last) the session's temporary schema. With `public` off the path, an object someone created
 * there (an overload of a built-in with a closer argument type, an operator) can never be
 * picked up by Kiln's own SQL; Kiln's own tables are always named with their schema.
 */
export const SAFE_SEARCH_PATH = 'pg_catalog, pg_temp';

/** Startup `options` for a connection of Kiln's own (pools, LISTEN clients, bootstrap). */
export const SAFE_SEARCH_PATH_OPTIONS = '-c search_path=pg_catalog,pg_temp';
