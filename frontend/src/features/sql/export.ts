/** A result set as CSV (RFC 4180 quoting) or JSON, downloaded from the browser. */
import type { StatementResult } from './hooks';

/** A cell as text: NULL is empty, objects and arrays are JSON. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function csvField(s: string): string {
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function toCsv(result: StatementResult): string {
  const names = result.fields.map((f) => f.name);
  const lines = [names.map(csvField).join(',')];
  for (const row of result.rows) lines.push(names.map((n) => csvField(cellText(row[n]))).join(','));
  return lines.join('\r\n') + '\r\n';
}

export function toJson(result: StatementResult): string {
  return JSON.stringify(result.rows, null, 2) + '\n';
}

export function download(filename: string, content: string, type: string): void {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
