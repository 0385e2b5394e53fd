/**
 * Small parsers for validateSearch: URL search params arrive as strings, numbers or booleans
 * (TanStack Router JSON-parses them). Each returns undefined when the value is absent or invalid,
 * so a hand-edited URL never breaks a page.
 */
export function optionalString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
}

export function optionalInt(v: unknown, min = 0): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isInteger(n) && n >= min ? n : undefined;
}

export function optionalEnum<T extends string>(v: unknown, values: readonly T[]): T | undefined {
  return typeof v === 'string' && (values as readonly string[]).includes(v) ? (v as T) : undefined;
}
