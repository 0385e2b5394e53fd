/**
 * Low-level reading of JSON-lines log files without loading them: files are read in 1 MiB chunks
 * (backwards for newest-first pages), and time ranges are found by binary search on the
 * timestamps, which winston writes in order because each file has one writer that appends.
 */
import type { FileHandle } from 'node:fs/promises';
import fsp from 'node:fs/promises';
import path from 'node:path';

export const CHUNK_BYTES = 1 << 20;
/** Lines longer than this are skipped rather than buffered. */
export const MAX_LINE_BYTES = 4 << 20;
/** Below this span the binary search reads the rest linearly. */
const LINEAR_BYTES = 64 << 10;

export interface OpenLogFile {
  path: string;
  fh: FileHandle;
  /** Identity that survives the rename of a rotation. */
  id: string;
  size: number;
  mtimeMs: number;
  /** Byte just past the last complete line (a line being written is left out). */
  end: number;
}

/** The files of one source, newest first: `kiln.log`, `kiln1.log`, `kiln2.log`… (tailable rotation). */
export async function listSourceFiles(dir: string, fileName: string): Promise<string[]> {
  const ext = path.extname(fileName);
  const base = path.basename(fileName, ext);
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const pattern = new RegExp(`^${escapeRegExp(base)}(\\d*)${escapeRegExp(ext)}$`);
  return names
    .map((name) => ({ name, m: pattern.exec(name) }))
    .filter((x): x is { name: string; m: RegExpExecArray } => x.m !== null)
    .map(({ name, m }) => ({ name, n: m[1] ? Number(m[1]) : 0 }))
    .sort((a, b) => a.n - b.n)
    .map(({ name }) => path.join(dir, name));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Opens every file of a source (newest first). A rotation between two opens can show the same
 * file twice under two names: duplicates (same inode) are dropped.
 */
export async function openSourceFiles(dir: string, fileName: string): Promise<OpenLogFile[]> {
  const out: OpenLogFile[] = [];
  const seen = new Set<string>();
  for (const p of await listSourceFiles(dir, fileName)) {
    let fh: FileHandle;
    try {
      fh = await fsp.open(p, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const st = await fh.stat();
    const id = `${st.dev}:${st.ino}`;
    if (seen.has(id) || !st.isFile()) {
      await fh.close();
      continue;
    }
    seen.add(id);
    const file: OpenLogFile = { path: p, fh, id, size: st.size, mtimeMs: st.mtimeMs, end: 0 };
    file.end = await lastLineEnd(file);
    out.push(file);
  }
  return out;
}

export async function closeFiles(files: OpenLogFile[]): Promise<void> {
  await Promise.all(files.map((f) => f.fh.close().catch(() => undefined)));
}

/** Reads up to `length` bytes at `position` (fewer at the end of the file). */
export async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? buf : buf.subarray(0, got);
}

async function lastLineEnd(file: OpenLogFile): Promise<number> {
  let pos = file.size;
  let step = LINEAR_BYTES;
  while (pos > 0) {
    const from = Math.max(0, pos - step);
    step = CHUNK_BYTES;
    const buf = await readAt(file.fh, from, pos - from);
    const nl = buf.lastIndexOf(10);
    if (nl >= 0) return from + nl + 1;
    pos = from;
  }
  return 0;
}

/**
 * A top-level string field of a winston JSON line without parsing it. winston writes `level` and
 * `timestamp` at the top of every line, but its keys are sorted and a nested object may repeat
 * one, so the quick answer is used only when the key occurs once in the line; otherwise the line
 * is parsed. (Inside a JSON string the key would be escaped, `\"level\"`, and cannot match.)
 */
export function fieldOf(line: string, key: string): string | undefined {
  const needle = `"${key}":"`;
  const i = line.indexOf(needle);
  if (i < 0) return undefined;
  const from = i + needle.length;
  if (line.indexOf(needle, from) < 0) {
    const close = line.indexOf('"', from);
    return close < 0 ? undefined : line.slice(from, close);
  }
  try {
    const value = (JSON.parse(line) as Record<string, unknown>)[key];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Epoch ms of the line's top-level `timestamp`, NaN when absent. */
export function lineTime(line: string): number {
  const ts = fieldOf(line, 'timestamp');
  return ts === undefined ? NaN : Date.parse(ts);
}

/** The complete line starting at `start` (which must be a line start), up to `limit`. */
async function lineAt(
  file: OpenLogFile,
  start: number,
  limit: number,
): Promise<{ text: string; end: number } | undefined> {
  let want = 16 << 10;
  while (start < limit) {
    const buf = await readAt(file.fh, start, Math.min(want, file.end - start));
    const nl = buf.indexOf(10);
    if (nl >= 0) return { text: buf.toString('utf8', 0, nl), end: start + nl + 1 };
    if (start + buf.length >= file.end || want >= MAX_LINE_BYTES) return undefined;
    want *= 4;
  }
  return undefined;
}

/** First line starting at or after `pos` (before `limit`) that has a timestamp. */
async function probe(
  file: OpenLogFile,
  pos: number,
  limit: number,
): Promise<{ start: number; end: number; ts: number } | undefined> {
  let start = pos;
  if (pos > 0) {
    // Find the line start at or after pos: the byte after the first newline at or after pos-1.
    let at = pos - 1;
    for (;;) {
      if (at >= limit) return undefined;
      const buf = await readAt(file.fh, at, Math.min(LINEAR_BYTES, limit - at));
      if (!buf.length) return undefined;
      const nl = buf.indexOf(10);
      if (nl >= 0) {
        start = at + nl + 1;
        break;
      }
      at += buf.length;
    }
  }
  for (let tries = 0; tries < 64 && start < limit; tries++) {
    const line = await lineAt(file, start, limit);
    if (!line) return undefined;
    const ts = lineTime(line.text);
    if (!Number.isNaN(ts)) return { start, end: line.end, ts };
    start = line.end;
  }
  return undefined;
}

/**
 * Byte offset of the first line whose timestamp is ≥ `t` (the file's `end` when none), by
 * binary search on line timestamps: O(log n) small reads, however large the file.
 */
export async function offsetAtTime(file: OpenLogFile, t: number): Promise<number> {
  let lo = 0;
  let hi = file.end;
  const first = await probe(file, 0, hi);
  if (!first || first.ts >= t) return first ? first.start : hi;
  lo = first.end;
  while (hi - lo > LINEAR_BYTES) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const p = await probe(file, mid, hi);
    if (!p) break;
    if (p.ts < t) lo = p.end;
    else hi = p.start;
  }
  // Linear finish over [lo, hi): lo and hi are line starts.
  let pos = lo;
  while (pos < hi) {
    const buf = await readAt(file.fh, pos, Math.min(CHUNK_BYTES, hi - pos));
    const lastNl = buf.lastIndexOf(10);
    if (lastNl < 0) {
      const line = await lineAt(file, pos, hi);
      if (!line) return hi;
      const ts = lineTime(line.text);
      if (ts >= t) return pos;
      pos = line.end;
      continue;
    }
    let s = 0;
    while (s <= lastNl) {
      const e = buf.indexOf(10, s);
      if (lineTime(buf.toString('utf8', s, e)) >= t) return pos + s;
      s = e + 1;
    }
    pos += lastNl + 1;
  }
  return hi;
}

/**
 * Reads go into one buffer per generator, reused from chunk to chunk (fresh megabyte buffers
 * would pile up as external memory until a GC): a yielded chunk is valid only until the next one
 * is asked for.
 */
class Scratch {
  private buf: Buffer;
  private carry: Buffer;
  carryLength = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
    this.carry = Buffer.allocUnsafe(16 << 10);
  }

  /** Room for `n` bytes at the start of the read buffer. */
  room(n: number): Buffer {
    if (this.buf.length < n) this.buf = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
    return this.buf;
  }

  /** Keeps a copy of `bytes` (part of the read buffer) for the next chunk. */
  keep(bytes: Buffer): void {
    if (this.carry.length < bytes.length) this.carry = Buffer.allocUnsafe(bytes.length * 2);
    bytes.copy(this.carry);
    this.carryLength = bytes.length;
  }

  kept(): Buffer {
    return this.carry.subarray(0, this.carryLength);
  }
}

async function readInto(
  fh: FileHandle,
  buf: Buffer,
  offset: number,
  length: number,
  position: number,
): Promise<number> {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, offset + got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

/**
 * Chunks of complete lines of [start, end) from the end backwards (start and end must be line
 * boundaries). Each chunk ends with a newline and is valid until the next is asked for; lines
 * longer than MAX_LINE_BYTES are dropped.
 */
export async function* chunksBackward(
  file: OpenLogFile,
  start: number,
  end: number,
  chunkBytes = CHUNK_BYTES,
): AsyncGenerator<Buffer> {
  const scratch = new Scratch(chunkBytes + (16 << 10));
  let pos = end;
  let skipping = false;
  while (pos > start) {
    const from = Math.max(start, pos - chunkBytes);
    const n = pos - from;
    // data = these bytes followed by the head of the line the previous chunk began inside.
    const carried = skipping ? 0 : scratch.carryLength;
    const buf = scratch.room(n + carried);
    const got = await readInto(file.fh, buf, 0, n, from);
    if (got < n) return;
    if (carried) scratch.kept().copy(buf, n);
    scratch.carryLength = 0;
    pos = from;
    let data = buf.subarray(0, n + carried);
    if (skipping) {
      // Dropping the rest of an over-long line: it began after this chunk's last newline.
      const nl = data.lastIndexOf(10);
      if (nl < 0) continue;
      data = data.subarray(0, nl + 1);
      skipping = false;
    }
    if (from > start) {
      const nl = data.indexOf(10);
      if (nl < 0 || nl + 1 === data.length) {
        // No complete line yet (or only the line ending here): keep it for the next read.
        if (data.length > MAX_LINE_BYTES) skipping = true;
        else scratch.keep(data);
        continue;
      }
      scratch.keep(data.subarray(0, nl + 1));
      data = data.subarray(nl + 1);
    }
    if (data.length) yield data;
  }
}

/** Chunks of complete lines of [start, end) in file order (valid until the next is asked for). */
export async function* chunksForward(
  file: OpenLogFile,
  start: number,
  end: number,
  chunkBytes = CHUNK_BYTES,
): AsyncGenerator<Buffer> {
  const scratch = new Scratch(chunkBytes + (16 << 10));
  let pos = start;
  let skipping = false;
  while (pos < end) {
    const carried = scratch.carryLength;
    const n = Math.min(chunkBytes, end - pos);
    const buf = scratch.room(carried + n);
    if (carried) scratch.kept().copy(buf, 0);
    scratch.carryLength = 0;
    const got = await readInto(file.fh, buf, carried, n, pos);
    if (!got) return;
    pos += got;
    let data = buf.subarray(0, carried + got);
    if (skipping) {
      // Dropping the rest of an over-long line: it ends at this chunk's first newline.
      const first = data.indexOf(10);
      if (first < 0) continue;
      data = data.subarray(first + 1);
      skipping = false;
    }
    const nl = data.lastIndexOf(10);
    if (nl < 0) {
      if (data.length <= MAX_LINE_BYTES) scratch.keep(data);
      else skipping = true;
      continue;
    }
    if (nl + 1 < data.length) scratch.keep(data.subarray(nl + 1));
    yield data.subarray(0, nl + 1);
  }
}

/**
 * Line-aligned windows [s, e) of a chunk of complete lines, each at most about `size` bytes (a
 * longer line is a window of its own), so strings decoded from them stay small.
 */
export function lineWindows(buf: Buffer, size = 64 << 10): number[] {
  const out: number[] = [];
  let s = 0;
  while (s < buf.length) {
    let e = s + size >= buf.length ? buf.length : buf.lastIndexOf(10, s + size - 1) + 1;
    if (e <= s) e = buf.indexOf(10, s) + 1 || buf.length;
    out.push(s, e);
    s = e;
  }
  return out;
}

export function countNewlines(buf: Buffer): number {
  let n = 0;
  let i = buf.indexOf(10);
  while (i >= 0) {
    n++;
    i = buf.indexOf(10, i + 1);
  }
  return n;
}

/**
 * Line counts per file, remembered by inode: a rotated file never changes, and the live one only
 * grows, so after the first count only the appended bytes are read.
 */
export class LineCounts {
  private readonly counts = new Map<string, { bytes: number; lines: number }>();

  async count(file: OpenLogFile): Promise<number> {
    const known = this.counts.get(file.id);
    let bytes = 0;
    let lines = 0;
    if (known && known.bytes <= file.end) ({ bytes, lines } = known);
    for await (const chunk of chunksForward(file, bytes, file.end)) lines += countNewlines(chunk);
    this.counts.set(file.id, { bytes: file.end, lines });
    if (this.counts.size > 1000) this.counts.delete(this.counts.keys().next().value!);
    return lines;
  }
}
