/**
 * Logs read from the JSON-lines files under DATA_DIR/logs (live file + tailable rotations).
 * Nothing reads a whole file into memory: pages are read backwards in 1 MiB chunks from the
 * newest line, time bounds (`before_timestamp`, `from`, `to`) are found by binary search on the
 * timestamps, and text is matched on the raw chunk before any line is parsed.
 */
import fsp from 'node:fs/promises';
import {
  chunksBackward,
  chunksForward,
  closeFiles,
  countNewlines,
  fieldOf,
  LineCounts,
  lineWindows,
  lineTime,
  listSourceFiles,
  offsetAtTime,
  openSourceFiles,
  type OpenLogFile,
} from './file-reader.js';
import {
  bucketStarts,
  LOG_LEVELS,
  LOG_SOURCES,
  SOURCE_NAMES,
  statsResult,
  toEntry,
  type ListQuery,
  type LogEntry,
  type LogPage,
  type LogProvider,
  type LogSource,
  type SearchQuery,
  type SourcesResult,
  type StatsQuery,
  type StatsResult,
} from '../types.js';

interface Filter {
  /** Text to find in the raw line (global; ASCII letters in either case). */
  regex?: RegExp;
  /** Top-level level the line must have. */
  level?: string;
  fromMs?: number;
  toMs?: number;
}

/**
 * The text is looked for as it appears inside the JSON line (quotes, backslashes and control
 * characters escaped), byte for byte on the line's UTF-8, with ASCII letters matching either case.
 */
function textRegExp(q: string): RegExp {
  let source = '';
  for (const b of Buffer.from(JSON.stringify(q).slice(1, -1), 'utf8')) {
    const c = String.fromCharCode(b);
    if ((b >= 65 && b <= 90) || (b >= 97 && b <= 122))
      source += `[${c.toLowerCase()}${c.toUpperCase()}]`;
    else source += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return new RegExp(source, 'g');
}

function compileFilter(q: { q?: string; level?: string; fromMs?: number; toMs?: number }): Filter {
  return {
    regex: q.q ? textRegExp(q.q) : undefined,
    level: q.level,
    fromMs: q.fromMs,
    toMs: q.toMs,
  };
}

const LEVEL_KEY = '"level":"';

/**
 * Whether the line [s, e) of `text` (the chunk decoded as latin1, so string offsets are byte
 * offsets) has the top-level level `level`. The quick test holds when the key occurs once in
 * the line; otherwise the line is parsed.
 */
function levelIs(buf: Buffer, text: string, s: number, e: number, level: string): boolean {
  const i = text.indexOf(LEVEL_KEY, s);
  if (i < 0 || i >= e) return false;
  if (text.lastIndexOf(LEVEL_KEY, e) === i) {
    return (
      text.startsWith(level, i + LEVEL_KEY.length) &&
      text.charCodeAt(i + LEVEL_KEY.length + level.length) === 34 /* " */
    );
  }
  return fieldOf(buf.toString('utf8', s, e), 'level') === level;
}

/**
 * Line bounds [s0, e0, s1, e1, …] of the lines of `buf` (complete lines, each ending with a
 * newline) that match, newest (last) line first.
 */
function matchLines(buf: Buffer, f: Filter): number[] {
  const found: number[] = [];
  const windows = lineWindows(buf);
  for (let w = 0; w < windows.length; w += 2) {
    const base = windows[w]!;
    const view = buf.subarray(base, windows[w + 1]);
    const text = view.toString('latin1');
    const push = (s: number, e: number) => found.push(base + s, base + e);
    if (f.regex) {
      const re = f.regex;
      re.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = re.exec(text))) {
        const s = text.lastIndexOf('\n', m.index) + 1;
        const e = text.indexOf('\n', m.index);
        if (!f.level || levelIs(view, text, s, e, f.level)) push(s, e);
        re.lastIndex = e + 1;
      }
    } else if (f.level) {
      const needle = `${LEVEL_KEY}${f.level}"`;
      let at = text.indexOf(needle);
      while (at >= 0) {
        const s = text.lastIndexOf('\n', at) + 1;
        const e = text.indexOf('\n', at);
        if (levelIs(view, text, s, e, f.level)) push(s, e);
        at = text.indexOf(needle, e + 1);
      }
    } else {
      let s = 0;
      while (s < text.length) {
        const e = text.indexOf('\n', s);
        push(s, e);
        s = e + 1;
      }
    }
  }
  // Newest first: reverse the pairs.
  const out: number[] = new Array<number>(found.length);
  for (let i = 0, j = found.length - 2; j >= 0; i += 2, j -= 2) {
    out[i] = found[j]!;
    out[i + 1] = found[j + 1]!;
  }
  return out;
}

interface Candidate {
  line: string;
  ts: number;
  source: LogSource;
}

/** Matching lines of one source, newest first, produced a chunk at a time. */
class SourceScan {
  private ranges: { file: OpenLogFile; start: number; end: number }[] = [];
  private fileIndex = 0;
  private chunks: AsyncGenerator<Buffer> | undefined;
  private chunk: Buffer | undefined;
  /** Bounds of the current chunk's matching lines not handed out yet (newest first). */
  private bounds: number[] = [];
  private boundsIndex = 0;
  bytesTotal = 0;
  bytesScanned = 0;
  /** Matches handed out by next(). */
  consumed = 0;
  /** Matches counted without being handed out (countRest). */
  counted = 0;
  finished = false;

  private constructor(
    readonly source: LogSource,
    readonly files: OpenLogFile[],
    private readonly filter: Filter,
  ) {}

  static async open(dir: string, source: LogSource, filter: Filter): Promise<SourceScan> {
    const files = await openSourceFiles(dir, LOG_SOURCES[source].file);
    const scan = new SourceScan(source, files, filter);
    try {
      for (const file of files) {
        const start = filter.fromMs === undefined ? 0 : await offsetAtTime(file, filter.fromMs);
        const end = filter.toMs === undefined ? file.end : await offsetAtTime(file, filter.toMs);
        if (end > start) scan.ranges.push({ file, start, end });
        scan.bytesTotal += Math.max(0, end - start);
      }
    } catch (err) {
      await scan.close();
      throw err;
    }
    return scan;
  }

  private async nextChunk(): Promise<Buffer | undefined> {
    while (this.fileIndex < this.ranges.length) {
      const r = this.ranges[this.fileIndex]!;
      this.chunks ??= chunksBackward(r.file, r.start, r.end);
      const { value, done } = await this.chunks.next();
      if (!done) {
        this.bytesScanned += value.length;
        return value;
      }
      this.chunks = undefined;
      this.fileIndex++;
    }
    this.finished = true;
    return undefined;
  }

  /** The next (older) matching line, or undefined at the end. */
  async next(): Promise<Candidate | undefined> {
    const { fromMs, toMs } = this.filter;
    for (;;) {
      while (this.boundsIndex >= this.bounds.length) {
        this.chunk = await this.nextChunk();
        if (!this.chunk) return undefined;
        this.bounds = matchLines(this.chunk, this.filter);
        this.boundsIndex = 0;
      }
      const s = this.bounds[this.boundsIndex++]!;
      const e = this.bounds[this.boundsIndex++]!;
      this.consumed++;
      const line = this.chunk!.toString('utf8', s, e);
      const ts = lineTime(line);
      // Lines without a timestamp, or out of order across a range bound, are left out.
      if (Number.isNaN(ts)) continue;
      if ((fromMs !== undefined && ts < fromMs) || (toMs !== undefined && ts >= toMs)) continue;
      return { line, ts, source: this.source };
    }
  }

  /** Counts the matches not handed out yet until `deadline`; true when it reached the end. */
  async countRest(deadline: number): Promise<boolean> {
    this.counted += (this.bounds.length - this.boundsIndex) / 2;
    this.bounds = [];
    this.boundsIndex = 0;
    this.chunk = undefined;
    const plain = !this.filter.regex && !this.filter.level;
    while (Date.now() < deadline) {
      const chunk = await this.nextChunk();
      if (!chunk) return true;
      this.counted += plain ? countNewlines(chunk) : matchLines(chunk, this.filter).length / 2;
    }
    return this.finished;
  }

  /** Matches seen so far, extrapolated to the bytes not scanned yet. */
  estimate(): number {
    const seen = this.consumed + this.counted;
    if (this.finished || this.bytesScanned === 0) return seen;
    return Math.max(seen, Math.round((seen / this.bytesScanned) * this.bytesTotal));
  }

  async close(): Promise<void> {
    await this.chunks?.return(undefined);
    await closeFiles(this.files);
  }
}

function parseEntry(c: Candidate): LogEntry | undefined {
  try {
    return toEntry(c.source, JSON.parse(c.line), c.line);
  } catch {
    return undefined;
  }
}

export interface FileLogProviderOptions {
  /**
   * After a search page is filled, how long to keep counting matches for `total` before
   * extrapolating (default 250 ms).
   */
  countBudgetMs?: number;
}

export class FileLogProvider implements LogProvider {
  readonly kind = 'file' as const;
  private readonly lineCounts = new LineCounts();
  private readonly countBudgetMs: number;

  constructor(
    private readonly dir: string,
    options: FileLogProviderOptions = {},
  ) {
    this.countBudgetMs = options.countBudgetMs ?? 250;
  }

  attach(): void {
    // The loggers write the files this provider reads.
  }

  async close(): Promise<void> {}

  async sources(): Promise<SourcesResult> {
    const sources = await Promise.all(
      SOURCE_NAMES.map(async (name) => {
        let sizeBytes = 0;
        let newest = 0;
        let files = 0;
        for (const p of await listSourceFiles(this.dir, LOG_SOURCES[name].file)) {
          const st = await fsp.stat(p).catch(() => undefined);
          if (!st?.isFile()) continue;
          files++;
          sizeBytes += st.size;
          newest = Math.max(newest, st.mtimeMs);
        }
        return {
          name,
          description: LOG_SOURCES[name].description,
          available: files > 0,
          sizeBytes,
          lastEventAt: newest ? new Date(newest).toISOString() : null,
          files,
        };
      }),
    );
    return { provider: 'file', sources };
  }

  async list(source: LogSource, query: ListQuery): Promise<LogPage> {
    const scan = await SourceScan.open(this.dir, source, compileFilter({ toMs: query.beforeMs }));
    try {
      const logs: LogEntry[] = [];
      let lastTs: number | undefined;
      let hasMore = false;
      for (;;) {
        const c = await scan.next();
        if (!c) break;
        // A full page still takes every entry sharing its oldest timestamp, so paging on
        // before_timestamp never skips one.
        if (
          logs.length >= query.limit &&
          (c.ts !== lastTs || logs.length >= query.limit + 10_000)
        ) {
          hasMore = true;
          break;
        }
        const entry = parseEntry(c);
        if (!entry) continue;
        logs.push(entry);
        lastTs = c.ts;
      }
      let total = 0;
      for (const file of scan.files) total += await this.lineCounts.count(file);
      return { logs, total, totalExact: true, hasMore };
    } finally {
      await scan.close();
    }
  }

  async search(query: SearchQuery): Promise<LogPage> {
    const filter = compileFilter(query);
    const names = query.source ? [query.source] : SOURCE_NAMES;
    const scans: SourceScan[] = [];
    try {
      for (const name of names) scans.push(await SourceScan.open(this.dir, name, filter));
      // k-way merge of the sources' newest-first streams.
      const heads = await Promise.all(scans.map((s) => s.next()));
      const logs: LogEntry[] = [];
      let skipped = 0;
      for (;;) {
        let best = -1;
        for (let i = 0; i < heads.length; i++) {
          const h = heads[i];
          if (h && (best < 0 || h.ts > heads[best]!.ts)) best = i;
        }
        if (best < 0 || logs.length >= query.limit) break;
        const c = heads[best]!;
        heads[best] = await scans[best]!.next();
        if (skipped < query.offset) {
          skipped++;
          continue;
        }
        const entry = parseEntry(c);
        if (entry) logs.push(entry);
      }
      const hasMore = heads.some(Boolean);
      // Count what is left, within the budget: exact when every scan reaches its end.
      const deadline = Date.now() + this.countBudgetMs;
      let exact = true;
      for (const scan of scans) if (!(await scan.countRest(deadline))) exact = false;
      const total = scans.reduce((n, s) => n + s.estimate(), 0);
      return {
        logs,
        total: Math.max(total, query.offset + logs.length + (hasMore ? 1 : 0)),
        totalExact: exact,
        hasMore,
      };
    } finally {
      await Promise.all(scans.map((s) => s.close()));
    }
  }

  async stats(query: StatsQuery): Promise<StatsResult> {
    const buckets = bucketStarts(query);
    const endIso = new Date(query.toMs).toISOString();
    const counts = new Map<LogSource, Map<string, number[]>>();
    await Promise.all(
      SOURCE_NAMES.map(async (source) => {
        const levels = new Map<string, number[]>();
        counts.set(source, levels);
        const files = await openSourceFiles(this.dir, LOG_SOURCES[source].file);
        try {
          for (const file of files) {
            const start = await offsetAtTime(file, query.fromMs);
            const end = await offsetAtTime(file, query.toMs);
            if (end <= start) continue;
            for await (const chunk of chunksForward(file, start, end)) {
              countChunk(chunk, buckets, endIso, query, levels);
            }
          }
        } finally {
          await closeFiles(files);
        }
      }),
    );
    return statsResult(query, buckets, counts);
  }
}

const KNOWN_LEVELS = new Set<string>(LOG_LEVELS);

/** Adds the lines of `buf` to counts[level][bucket]. */
function countChunk(
  buf: Buffer,
  buckets: string[],
  endIso: string,
  query: StatsQuery,
  levels: Map<string, number[]>,
): void {
  const windows = lineWindows(buf);
  const state = { cur: 0 };
  for (let w = 0; w < windows.length; w += 2) {
    countWindow(buf.subarray(windows[w], windows[w + 1]), buckets, endIso, query, levels, state);
  }
}

/**
 * One regex pass over the window finds each line's `"level":"…"`, `"timestamp":"…"` and its
 * end; a line where either key occurs more than once (a nested object) is parsed instead.
 */
const STATS_RE = /"(level|timestamp)":"([^"\\]*)"|\n/g;

function countWindow(
  buf: Buffer,
  buckets: string[],
  endIso: string,
  query: StatsQuery,
  levels: Map<string, number[]>,
  state: { cur: number },
): void {
  const text = buf.toString('latin1');
  const re = STATS_RE;
  re.lastIndex = 0;
  let lineStart = 0;
  let levelSeen = 0;
  let tsSeen = 0;
  let level: string | undefined;
  let ts: string | undefined;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    if (m[1] === 'level') {
      levelSeen++;
      level = m[2];
      continue;
    }
    if (m[1] === 'timestamp') {
      tsSeen++;
      ts = m[2];
      continue;
    }
    // End of a line.
    if (levelSeen > 1 || tsSeen > 1) {
      const line = buf.toString('utf8', lineStart, m.index);
      ts = fieldOf(line, 'timestamp');
      level = fieldOf(line, 'level');
    }
    if (tsSeen && ts !== undefined) count(ts, level);
    lineStart = m.index + 1;
    levelSeen = tsSeen = 0;
    level = ts = undefined;
  }

  function count(ts: string, levelValue: string | undefined) {
    let index: number;
    if (ts.length === 24 && ts.charCodeAt(23) === 90 /* Z */) {
      // Canonical ISO strings order like the instants they name: compare without parsing.
      if (ts < buckets[0]! || ts >= endIso) return;
      const cur = state.cur;
      if (ts >= buckets[cur]! && (cur + 1 >= buckets.length || ts < buckets[cur + 1]!)) index = cur;
      else index = state.cur = bucketOf(ts, buckets);
    } else {
      const ms = Date.parse(ts);
      if (Number.isNaN(ms) || ms < query.fromMs || ms >= query.toMs) return;
      index = Math.floor((ms - query.fromMs) / query.bucketMs);
    }
    const name = levelValue !== undefined && KNOWN_LEVELS.has(levelValue) ? levelValue : 'other';
    let c = levels.get(name);
    if (!c) levels.set(name, (c = new Array<number>(buckets.length).fill(0)));
    c[index]!++;
  }
}

/** Index of the last bucket start ≤ ts. */
function bucketOf(ts: string, buckets: string[]): number {
  let lo = 0;
  let hi = buckets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (buckets[mid]! <= ts) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
