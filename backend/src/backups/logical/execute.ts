/**
 * Executes a plain-format pg_dump file on a client, streamed (never the whole file in memory):
 * SQL statements (split at `;` outside quotes, dollar quotes, identifiers and comments) are sent
 * one by one as simple queries; a `COPY … FROM stdin;` has its data lines streamed through the
 * COPY protocol up to the `\.` line; psql meta-commands pg_dump writes (`\restrict`,
 * `\unrestrict`, `\connect` is not written for one database) are skipped.
 */
import fs from 'node:fs';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** The file's lines, split at \n only (a COPY row may contain a raw \r), as bytes. */
async function* lines(file: string): AsyncGenerator<Buffer> {
  let rest = Buffer.alloc(0);
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    let buf = rest.length ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
    let start = 0;
    for (let i = buf.indexOf(10, start); i >= 0; i = buf.indexOf(10, start)) {
      yield buf.subarray(start, i);
      start = i + 1;
    }
    buf = buf.subarray(start);
    rest = Buffer.from(buf);
  }
  if (rest.length) yield rest;
}

/** Lexer state carried across lines of one statement. */
interface Scan {
  quote: null | "'" | '"' | 'E' | string; // string = a dollar-quote tag
  blockDepth: number;
}

/**
 * Scans `line` from the state in `scan`; returns the index just after a statement-ending `;`,
 * or -1 when the statement goes on.
 */
function scanLine(line: string, scan: Scan): number {
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (scan.blockDepth > 0) {
      if (c === '*' && line[i + 1] === '/') {
        scan.blockDepth--;
        i++;
      } else if (c === '/' && line[i + 1] === '*') {
        scan.blockDepth++;
        i++;
      }
      continue;
    }
    if (scan.quote === "'") {
      if (c === "'") scan.quote = null; // '' re-enters at once
      continue;
    }
    if (scan.quote === 'E') {
      if (c === '\\') i++;
      else if (c === "'") scan.quote = null;
      continue;
    }
    if (scan.quote === '"') {
      if (c === '"') scan.quote = null;
      continue;
    }
    if (scan.quote !== null) {
      if (c === '$' && line.startsWith(scan.quote, i)) {
        i += scan.quote.length - 1;
        scan.quote = null;
      }
      continue;
    }
    if (c === '-' && line[i + 1] === '-') return -1; // rest of the line is a comment
    if (c === '/' && line[i + 1] === '*') {
      scan.blockDepth = 1;
      i++;
    } else if (c === "'") {
      const prev = line[i - 1];
      scan.quote = (prev === 'E' || prev === 'e') && !/\w/.test(line[i - 2] ?? '') ? 'E' : "'";
    } else if (c === '"') scan.quote = '"';
    else if (c === '$') {
      const tag = /^\$[A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*\$|^\$\$/.exec(line.slice(i));
      if (tag && !/[\w$]/.test(line[i - 1] ?? '')) {
        scan.quote = tag[0];
        i += tag[0].length - 1;
      }
    } else if (c === ';') return i + 1;
  }
  return -1;
}

export interface ExecuteOptions {
  /**
   * Decides about a statement that failed: return true to go on (it ran in a savepoint that is
   * rolled back), false to fail the restore.
   */
  tolerate?: (statement: string, err: { code?: string; message: string }) => boolean;
  /** Rewrites a statement before it is sent. */
  rewrite?: (statement: string) => string;
  onStatement?: (count: number) => void;
}

/** Runs the dump in `file` on `client` (inside whatever transaction the caller opened). */
export async function executeDump(
  client: pg.ClientBase,
  file: string,
  options: ExecuteOptions = {},
): Promise<{ statements: number; skipped: string[] }> {
  const scan: Scan = { quote: null, blockDepth: 0 };
  let statement = '';
  let copy: ReturnType<typeof copyFrom> | undefined;
  let copyDone: Promise<void> | undefined;
  let statements = 0;
  const skipped: string[] = [];

  const run = async (sql: string) => {
    const text = options.rewrite ? options.rewrite(sql) : sql;
    if (/^COPY\b[\s\S]*\bFROM stdin;$/i.test(text.trim())) {
      copy = client.query(copyFrom(text.trim().replace(/;$/, '')));
      copyDone = new Promise<void>((resolve, reject) => {
        copy!.on('finish', resolve);
        copy!.on('error', reject);
      });
      return;
    }
    const guarded = options.tolerate !== undefined;
    if (guarded) await client.query('SAVEPOINT kiln_statement');
    try {
      await client.query(text);
      if (guarded) await client.query('RELEASE SAVEPOINT kiln_statement');
    } catch (err) {
      const e = err as { code?: string; message: string };
      if (guarded && options.tolerate!(text, e)) {
        await client.query('ROLLBACK TO SAVEPOINT kiln_statement');
        skipped.push(`${text.trim().slice(0, 200)}: ${e.message}`);
        return;
      }
      throw new Error(`${e.message} (in: ${text.trim().slice(0, 300)})`);
    }
    statements++;
    options.onStatement?.(statements);
  };

  for await (const raw of lines(file)) {
    if (copy) {
      if (raw.length === 2 && raw[0] === 0x5c && raw[1] === 0x2e) {
        copy.end();
        await copyDone;
        copy = undefined;
        statements++;
        continue;
      }
      const line = Buffer.concat([raw, Buffer.from('\n')]);
      if (!copy.write(line)) {
        await new Promise<void>((resolve, reject) => {
          copy!.once('drain', resolve);
          copy!.once('error', reject);
        });
      }
      continue;
    }
    const line = raw.toString('utf8');
    if (!statement && scan.quote === null && scan.blockDepth === 0) {
      // Between statements: comments, blank lines and psql meta-commands.
      if (/^\s*(--.*)?$/.test(line)) continue;
      if (line.startsWith('\\')) {
        if (/^\\(restrict|unrestrict)\b/.test(line)) continue;
        throw new Error(`Unexpected psql meta-command in the dump: ${line.slice(0, 40)}`);
      }
    }
    let rest = line;
    for (;;) {
      const end = scanLine(rest, scan);
      if (end < 0) {
        statement += `${rest}\n`;
        break;
      }
      statement += rest.slice(0, end);
      const sql = statement;
      statement = '';
      await run(sql);
      rest = rest.slice(end);
      if (!rest.trim() || copy) break;
    }
  }
  if (copy) throw new Error('The dump ends inside a COPY block');
  if (statement.trim()) throw new Error('The dump ends inside a statement');
  return { statements, skipped };
}
