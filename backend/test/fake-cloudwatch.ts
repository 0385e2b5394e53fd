/**
 * A local CloudWatch Logs endpoint speaking the service's JSON protocol (POST /, header
 * `X-Amz-Target: Logs_20140328.<Operation>`, `application/x-amz-json-1.1` bodies, errors as
 * `{"__type": …, "message": …}`), so Kiln's real AWS SDK client code runs against it.
 *
 * Operations: CreateLogGroup, CreateLogStream, DescribeLogGroups, DescribeLogStreams,
 * PutLogEvents, FilterLogEvents (time range, stream names or prefix, newest or oldest first,
 * paging; filter patterns: terms, "quoted terms", ?any, -exclude, and `{ $.field = value }`),
 * StartQuery / GetQueryResults / StopQuery (Logs Insights: `fields`, `filter` with = != < <= > >=,
 * `like /regex/`, `in [...]`, `and` / `or`, `toMillis()`, `sort`, `limit`, and
 * `stats count(*) as x by field, bin(Ns)`). Everything is kept in memory.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

interface StoredEvent {
  timestamp: number;
  message: string;
  ingestionTime: number;
  eventId: string;
  seq: number;
}

interface Stream {
  name: string;
  creationTime: number;
  events: StoredEvent[];
  storedBytes: number;
  uploadSequenceToken: number;
}

interface Group {
  name: string;
  creationTime: number;
  streams: Map<string, Stream>;
}

interface Query {
  id: string;
  status: 'Running' | 'Complete';
  polls: number;
  rows: { field: string; value: string }[][];
  stats: { recordsMatched: number; recordsScanned: number; bytesScanned: number };
}

class CwError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const ACCOUNT = '123456789012';
const DAY = 24 * 3600_000;

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

export class FakeCloudWatch {
  readonly groups = new Map<string, Group>();
  /** Every call: operation name and request body. */
  readonly calls: { op: string; body: any }[] = [];
  /** Access key ids and regions seen in SigV4 credential scopes. */
  readonly credentials = new Set<string>();
  /** Operations to fail once, as `type` with `status`. */
  private failures: { op: string; type: string; status: number; when: (body: any) => boolean }[] =
    [];
  private queries = new Map<string, Query>();
  private seq = 0;
  url = '';
  private server = http.createServer((req, res) => void this.handle(req, res));

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  /** The next `times` calls of `op` (those `when` accepts) fail with this error. */
  failNext(
    op: string,
    type = 'ServiceUnavailableException',
    status = 503,
    times = 1,
    when: (body: any) => boolean = () => true,
  ): void {
    for (let i = 0; i < times; i++) this.failures.push({ op, type, status, when });
  }

  count(op: string): number {
    return this.calls.filter((c) => c.op === op).length;
  }

  events(group: string, stream: string): StoredEvent[] {
    return this.groups.get(group)?.streams.get(stream)?.events ?? [];
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const send = (status: number, body: unknown, type?: string) => {
      const headers: Record<string, string> = {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-requestid': crypto.randomUUID(),
      };
      if (type) headers['x-amzn-errortype'] = type;
      res.writeHead(status, headers);
      res.end(JSON.stringify(body));
    };
    try {
      const target = String(req.headers['x-amz-target'] ?? '');
      if (req.method !== 'POST' || !target.startsWith('Logs_20140328.')) {
        throw new CwError('UnknownOperationException', `Unknown target ${target}`);
      }
      if (!String(req.headers['content-type'] ?? '').startsWith('application/x-amz-json-1.1')) {
        throw new CwError('SerializationException', 'Expected application/x-amz-json-1.1');
      }
      const auth = String(req.headers.authorization ?? '');
      const scope = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/logs\/aws4_request/.exec(
        auth,
      );
      if (!scope) {
        throw new CwError(
          'MissingAuthenticationTokenException',
          'Missing Authentication Token',
          403,
        );
      }
      this.credentials.add(`${scope[1]}@${scope[2]}`);
      const op = target.slice('Logs_20140328.'.length);
      const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
      this.calls.push({ op, body });
      const failure = this.failures.findIndex((f) => f.op === op && f.when(body));
      if (failure >= 0) {
        const f = this.failures.splice(failure, 1)[0]!;
        throw new CwError(f.type, `Injected failure of ${op}`, f.status);
      }
      const fn = (this as unknown as Record<string, ((b: any) => unknown) | undefined>)[`op${op}`];
      if (typeof fn !== 'function') throw new CwError('UnknownOperationException', op);
      send(200, fn.call(this, body) ?? {});
    } catch (err) {
      if (err instanceof CwError) {
        send(err.status, { __type: err.type, message: err.message }, err.type);
      } else {
        send(500, { __type: 'ServiceUnavailableException', message: String(err) });
      }
    }
  }

  private group(body: any): Group {
    const name = body.logGroupName ?? body.logGroupIdentifier;
    if (typeof name !== 'string')
      throw new CwError('InvalidParameterException', 'logGroupName is required');
    const g = this.groups.get(name);
    if (!g)
      throw new CwError('ResourceNotFoundException', 'The specified log group does not exist.');
    return g;
  }

  private arn(group: string, stream?: string): string {
    return `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:${group}${stream ? `:log-stream:${stream}` : ':*'}`;
  }

  // ---- operations --------------------------------------------------------------------------

  opCreateLogGroup(body: any) {
    const name = body.logGroupName;
    if (typeof name !== 'string' || !/^[.\-_/#A-Za-z0-9]{1,512}$/.test(name)) {
      throw new CwError('InvalidParameterException', 'Invalid log group name');
    }
    if (this.groups.has(name)) {
      throw new CwError('ResourceAlreadyExistsException', 'The specified log group already exists');
    }
    this.groups.set(name, { name, creationTime: Date.now(), streams: new Map() });
    return {};
  }

  opCreateLogStream(body: any) {
    const g = this.group(body);
    const name = body.logStreamName;
    if (typeof name !== 'string' || !/^[^:*]{1,512}$/.test(name)) {
      throw new CwError('InvalidParameterException', 'Invalid log stream name');
    }
    if (g.streams.has(name)) {
      throw new CwError(
        'ResourceAlreadyExistsException',
        'The specified log stream already exists',
      );
    }
    g.streams.set(name, {
      name,
      creationTime: Date.now(),
      events: [],
      storedBytes: 0,
      uploadSequenceToken: 1,
    });
    return {};
  }

  opDescribeLogGroups(body: any) {
    const prefix: string = body.logGroupNamePrefix ?? '';
    const pattern: string | undefined = body.logGroupNamePattern;
    if (body.logGroupNamePrefix && pattern) {
      throw new CwError('InvalidParameterException', 'Use a prefix or a pattern, not both');
    }
    const all = [...this.groups.values()]
      .filter((g) => g.name.startsWith(prefix) && (!pattern || g.name.includes(pattern)))
      .sort((a, b) => a.name.localeCompare(b.name));
    const page = paginate(all, body.nextToken, Math.min(body.limit ?? 50, 50));
    return {
      logGroups: page.items.map((g) => ({
        logGroupName: g.name,
        creationTime: g.creationTime,
        metricFilterCount: 0,
        arn: this.arn(g.name),
        logGroupArn: this.arn(g.name).replace(/:\*$/, ''),
        storedBytes: [...g.streams.values()].reduce((n, s) => n + s.storedBytes, 0),
        logGroupClass: 'STANDARD',
      })),
      ...(page.next ? { nextToken: page.next } : {}),
    };
  }

  opDescribeLogStreams(body: any) {
    const g = this.group(body);
    const orderBy = body.orderBy ?? 'LogStreamName';
    if (orderBy === 'LastEventTime' && body.logStreamNamePrefix) {
      throw new CwError(
        'InvalidParameterException',
        'Cannot order by LastEventTime with a logStreamNamePrefix.',
      );
    }
    const prefix: string = body.logStreamNamePrefix ?? '';
    const all = [...g.streams.values()].filter((s) => s.name.startsWith(prefix));
    all.sort((a, b) =>
      orderBy === 'LastEventTime'
        ? (a.events.at(-1)?.timestamp ?? 0) - (b.events.at(-1)?.timestamp ?? 0)
        : a.name.localeCompare(b.name),
    );
    if (body.descending) all.reverse();
    const page = paginate(all, body.nextToken, Math.min(body.limit ?? 50, 50));
    return {
      logStreams: page.items.map((s) => {
        const times = s.events.map((e) => e.timestamp);
        return {
          logStreamName: s.name,
          creationTime: s.creationTime,
          ...(times.length
            ? {
                firstEventTimestamp: Math.min(...times),
                lastEventTimestamp: Math.max(...times),
                lastIngestionTime: Math.max(...s.events.map((e) => e.ingestionTime)),
              }
            : {}),
          uploadSequenceToken: String(s.uploadSequenceToken),
          arn: this.arn(g.name, s.name),
          // Deprecated for log streams in 2019: AWS always reports 0 here.
          storedBytes: 0,
        };
      }),
      ...(page.next ? { nextToken: page.next } : {}),
    };
  }

  opPutLogEvents(body: any) {
    const g = this.group(body);
    const s = g.streams.get(body.logStreamName);
    if (!s)
      throw new CwError('ResourceNotFoundException', 'The specified log stream does not exist.');
    const events: { timestamp: number; message: string }[] = body.logEvents ?? [];
    if (!events.length || events.length > 10_000) {
      throw new CwError('InvalidParameterException', 'logEvents must hold 1 to 10000 events');
    }
    const bytes = events.reduce((n, e) => n + Buffer.byteLength(e.message ?? '') + 26, 0);
    if (bytes > 1_048_576) throw new CwError('InvalidParameterException', 'Batch too large');
    for (let i = 1; i < events.length; i++) {
      if (events[i]!.timestamp < events[i - 1]!.timestamp) {
        throw new CwError(
          'InvalidParameterException',
          'Log events in a single PutLogEvents request must be in chronological order.',
        );
      }
    }
    if (events.at(-1)!.timestamp - events[0]!.timestamp > DAY) {
      throw new CwError(
        'InvalidParameterException',
        'The batch of log events in a single PutLogEvents request cannot span more than 24 hours.',
      );
    }
    const now = Date.now();
    let tooOldEnd = -1;
    let tooNewStart = -1;
    events.forEach((e, i) => {
      if (typeof e.message !== 'string' || !e.message) {
        throw new CwError('InvalidParameterException', 'Log event message must not be empty');
      }
      if (Buffer.byteLength(e.message) > 256 * 1024 - 26) {
        throw new CwError('InvalidParameterException', 'Log event too large');
      }
      if (e.timestamp < now - 14 * DAY) tooOldEnd = i + 1;
      else if (e.timestamp > now + 2 * 3600_000) {
        if (tooNewStart < 0) tooNewStart = i;
      } else {
        s.events.push({
          timestamp: e.timestamp,
          message: e.message,
          ingestionTime: now,
          eventId: String(++this.seq).padStart(20, '0'),
          seq: this.seq,
        });
        s.storedBytes += Buffer.byteLength(e.message);
      }
    });
    s.events.sort((a, b) => a.timestamp - b.timestamp || a.seq - b.seq);
    s.uploadSequenceToken++;
    const rejected = {
      ...(tooOldEnd >= 0 ? { tooOldLogEventEndIndex: tooOldEnd } : {}),
      ...(tooNewStart >= 0 ? { tooNewLogEventStartIndex: tooNewStart } : {}),
    };
    return {
      nextSequenceToken: String(s.uploadSequenceToken),
      ...(Object.keys(rejected).length ? { rejectedLogEventsInfo: rejected } : {}),
    };
  }

  opFilterLogEvents(body: any) {
    const g = this.group(body);
    if (body.logStreamNames && body.logStreamNamePrefix) {
      throw new CwError(
        'InvalidParameterException',
        'logStreamNames and logStreamNamePrefix cannot both be specified',
      );
    }
    const newestFirst = body.startFromHead === false;
    if (newestFirst && !(body.startTime >= Date.UTC(2024, 0, 1))) {
      throw new CwError(
        'InvalidParameterException',
        'startFromHead=false requires a startTime on or after Jan 1, 2024',
      );
    }
    let streams: Stream[];
    if (body.logStreamNames) {
      streams = (body.logStreamNames as string[]).map((n) => {
        const s = g.streams.get(n);
        if (!s)
          throw new CwError(
            'ResourceNotFoundException',
            'The specified log stream does not exist.',
          );
        return s;
      });
    } else {
      const prefix: string = body.logStreamNamePrefix ?? '';
      streams = [...g.streams.values()].filter((s) => s.name.startsWith(prefix));
    }
    const match = compilePattern(body.filterPattern ?? '');
    const start = body.startTime ?? -Infinity;
    const end = body.endTime ?? Infinity;
    const found = streams
      .flatMap((s) => s.events.map((e) => ({ s, e })))
      .filter(({ e }) => e.timestamp >= start && e.timestamp <= end && match(e.message));
    found.sort((a, b) => a.e.timestamp - b.e.timestamp || a.e.seq - b.e.seq);
    if (newestFirst) found.reverse();
    const page = paginate(found, body.nextToken, Math.min(body.limit ?? 10_000, 10_000));
    return {
      events: page.items.map(({ s, e }) => ({
        logStreamName: s.name,
        timestamp: e.timestamp,
        message: e.message,
        ingestionTime: e.ingestionTime,
        eventId: e.eventId,
      })),
      searchedLogStreams: streams.map((s) => ({ logStreamName: s.name, searchedCompletely: true })),
      ...(page.next ? { nextToken: page.next } : {}),
    };
  }

  opStartQuery(body: any) {
    const names: string[] = body.logGroupNames ?? (body.logGroupName ? [body.logGroupName] : []);
    if (!names.length) throw new CwError('InvalidParameterException', 'logGroupName is required');
    const groups = names.map((n) => this.group({ logGroupName: n }));
    if (!Number.isInteger(body.startTime) || !Number.isInteger(body.endTime)) {
      throw new CwError(
        'InvalidParameterException',
        'startTime and endTime are required (seconds)',
      );
    }
    if (body.endTime < body.startTime) {
      throw new CwError('InvalidParameterException', 'endTime must not be before startTime');
    }
    const pipeline = parseQuery(String(body.queryString ?? ''));
    // The range is inclusive, in whole seconds.
    const from = body.startTime * 1000;
    const to = body.endTime * 1000 + 999;
    const records: Rec[] = [];
    let bytes = 0;
    for (const g of groups) {
      for (const s of g.streams.values()) {
        for (const e of s.events) {
          if (e.timestamp < from || e.timestamp > to) continue;
          bytes += Buffer.byteLength(e.message);
          records.push(toRecord(g.name, s.name, e));
        }
      }
    }
    const scanned = records.length;
    const rows = runPipeline(pipeline, records, body.limit);
    const id = crypto.randomUUID();
    this.queries.set(id, {
      id,
      status: 'Running',
      polls: 0,
      rows,
      stats: { recordsMatched: rows.length, recordsScanned: scanned, bytesScanned: bytes },
    });
    return { queryId: id };
  }

  opGetQueryResults(body: any) {
    const q = this.queries.get(body.queryId);
    if (!q) throw new CwError('ResourceNotFoundException', 'The specified query does not exist.');
    // The first poll finds it still running, as real queries usually are.
    if (q.polls++ >= 1) q.status = 'Complete';
    return {
      status: q.status,
      results: q.status === 'Complete' ? q.rows : [],
      statistics: q.stats,
    };
  }

  opStopQuery(body: any) {
    const q = this.queries.get(body.queryId);
    if (!q) throw new CwError('ResourceNotFoundException', 'The specified query does not exist.');
    const running = q.status === 'Running';
    this.queries.delete(body.queryId);
    return { success: running };
  }
}

function paginate<T>(all: T[], token: string | undefined, limit: number) {
  const start = token ? Number(Buffer.from(token, 'base64url').toString()) : 0;
  if (!Number.isInteger(start) || start < 0) {
    throw new CwError('InvalidParameterException', 'The specified nextToken is invalid.');
  }
  const items = all.slice(start, start + limit);
  const next =
    start + limit < all.length
      ? Buffer.from(String(start + limit)).toString('base64url')
      : undefined;
  return { items, next };
}

// ---- filter patterns ----------------------------------------------------------------------

function compilePattern(pattern: string): (message: string) => boolean {
  const p = pattern.trim();
  if (!p) return () => true;
  const json = /^\{\s*\$\.([\w.]+)\s*(=|!=)\s*(?:"((?:[^"\\]|\\.)*)"|([^\s}]+))\s*\}$/.exec(p);
  if (json) {
    const [, path, op, quoted, bare] = json;
    const want = quoted !== undefined ? quoted : bare!;
    return (message) => {
      let value: unknown;
      try {
        value = path!
          .split('.')
          .reduce<any>((o, k) => (o == null ? undefined : o[k]), JSON.parse(message));
      } catch {
        return false;
      }
      if (value === undefined) return false;
      const equal = String(value) === want;
      return op === '=' ? equal : !equal;
    };
  }
  if (p.startsWith('{'))
    throw new CwError('InvalidParameterException', 'Invalid metric filter pattern');
  const terms = [...p.matchAll(/([?-]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))/g)].map((m) => ({
    kind: m[1],
    text: m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!,
  }));
  return (message) => {
    const any = terms.filter((t) => t.kind === '?');
    if (any.length && !any.some((t) => message.includes(t.text))) return false;
    return terms.every((t) =>
      t.kind === '-' ? !message.includes(t.text) : t.kind === '?' || message.includes(t.text),
    );
  };
}

// ---- Logs Insights --------------------------------------------------------------------------

type Rec = Record<string, string | number | undefined>;

function toRecord(group: string, stream: string, e: StoredEvent): Rec {
  const rec: Rec = {
    '@timestamp': e.timestamp,
    '@message': e.message,
    '@logStream': stream,
    '@log': `${ACCOUNT}:${group}`,
    '@ingestionTime': e.ingestionTime,
    '@ptr': Buffer.from(`${group}/${stream}/${e.eventId}`).toString('base64'),
  };
  // Insights discovers the fields of JSON events (nested ones as a.b).
  try {
    const flatten = (o: unknown, prefix: string) => {
      if (o && typeof o === 'object' && !Array.isArray(o)) {
        for (const [k, v] of Object.entries(o)) flatten(v, prefix ? `${prefix}.${k}` : k);
      } else if (prefix && !(prefix in rec)) {
        rec[prefix] = typeof o === 'string' || typeof o === 'number' ? o : JSON.stringify(o);
      }
    };
    flatten(JSON.parse(e.message), '');
  } catch {
    // not JSON: only the @ fields
  }
  return rec;
}

type Token =
  | { t: 'str'; v: string }
  | { t: 'num'; v: number }
  | { t: 're'; v: RegExp }
  | { t: 'id'; v: string }
  | { t: 'op'; v: string };

function tokenize(q: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const malformed = (why: string) =>
    new CwError('MalformedQueryException', `${why} at position ${i}`);
  while (i < q.length) {
    const c = q[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'") {
      let v = '';
      i++;
      while (i < q.length && q[i] !== c) {
        if (q[i] === '\\') i++;
        v += q[i++] ?? '';
      }
      if (q[i] !== c) throw malformed('unterminated string');
      i++;
      out.push({ t: 'str', v });
    } else if (
      c === '/' &&
      out.at(-1)?.t === 'id' &&
      (out.at(-1)!.v as string).toLowerCase() === 'like'
    ) {
      let src = '';
      i++;
      while (i < q.length && q[i] !== '/') {
        if (q[i] === '\\') src += q[i++];
        src += q[i++] ?? '';
      }
      if (q[i] !== '/') throw malformed('unterminated regex');
      i++;
      let flags = '';
      // Insights accepts (?i) at the start; JavaScript wants a flag.
      if (src.startsWith('(?i)')) {
        src = src.slice(4);
        flags = 'i';
      }
      out.push({ t: 're', v: new RegExp(src.replace(/\\\//g, '/'), flags) });
    } else if (/[0-9]/.test(c)) {
      const m = /^\d+(\.\d+)?/.exec(q.slice(i))!;
      // bin(300s): a number with a unit is an identifier-like literal
      const unit = /^[smhd]\b/.exec(q.slice(i + m[0].length));
      if (unit) {
        out.push({ t: 'id', v: m[0] + unit[0] });
        i += m[0].length + 1;
      } else {
        out.push({ t: 'num', v: Number(m[0]) });
        i += m[0].length;
      }
    } else if (/[@A-Za-z_]/.test(c)) {
      const m = /^@?[A-Za-z_][\w.]*/.exec(q.slice(i))!;
      out.push({ t: 'id', v: m[0] });
      i += m[0].length;
    } else {
      const m = /^(<=|>=|!=|=|<|>|\||,|\(|\)|\[|\]|\*)/.exec(q.slice(i));
      if (!m) throw malformed(`unexpected "${c}"`);
      out.push({ t: 'op', v: m[0] });
      i += m[0].length;
    }
  }
  return out;
}

type Expr = (r: Rec) => unknown;

interface Command {
  kind: 'fields' | 'filter' | 'sort' | 'limit' | 'stats';
  fields?: string[];
  where?: Expr;
  sortField?: string;
  desc?: boolean;
  limit?: number;
  alias?: string;
  by?: { name: string; get: Expr }[];
}

class Parser {
  i = 0;
  constructor(private readonly toks: Token[]) {}
  peek(): Token | undefined {
    return this.toks[this.i];
  }
  next(): Token {
    const t = this.toks[this.i++];
    if (!t) throw new CwError('MalformedQueryException', 'unexpected end of query');
    return t;
  }
  isOp(v: string): boolean {
    const t = this.peek();
    return t?.t === 'op' && t.v === v;
  }
  isWord(v: string): boolean {
    const t = this.peek();
    return t?.t === 'id' && t.v.toLowerCase() === v;
  }
  expect(v: string): void {
    const t = this.next();
    if (t.t !== 'op' || t.v !== v) throw new CwError('MalformedQueryException', `expected ${v}`);
  }
  word(): string {
    const t = this.next();
    if (t.t !== 'id') throw new CwError('MalformedQueryException', 'expected a field name');
    return t.v;
  }

  operand(): { name: string; get: Expr } {
    const t = this.next();
    if (t.t === 'str') return { name: JSON.stringify(t.v), get: () => t.v };
    if (t.t === 'num') return { name: String(t.v), get: () => t.v };
    if (t.t === 'id') {
      if (this.isOp('(')) {
        this.next();
        const fn = t.v.toLowerCase();
        if (fn === 'tomillis') {
          const inner = this.operand();
          this.expect(')');
          return { name: `toMillis(${inner.name})`, get: (r) => Number(inner.get(r)) };
        }
        if (fn === 'bin') {
          const size = this.word();
          this.expect(')');
          const m = /^(\d+)([smhd])$/.exec(size);
          if (!m) throw new CwError('MalformedQueryException', `bad bin size ${size}`);
          const ms = Number(m[1]) * { s: 1000, m: 60_000, h: 3600_000, d: DAY }[m[2] as 's']!;
          return {
            name: `bin(${size})`,
            get: (r) => iso(Math.floor(Number(r['@timestamp']) / ms) * ms),
          };
        }
        throw new CwError('MalformedQueryException', `unsupported function ${t.v}`);
      }
      const name = t.v;
      return { name, get: (r) => r[name] };
    }
    throw new CwError('MalformedQueryException', 'expected an operand');
  }

  comparison(): Expr {
    if (this.isWord('not')) {
      this.next();
      const inner = this.comparison();
      return (r) => !inner(r);
    }
    const left = this.operand();
    if (this.isWord('like')) {
      this.next();
      const t = this.next();
      if (t.t === 're') return (r) => left.get(r) !== undefined && t.v.test(String(left.get(r)));
      if (t.t === 'str')
        return (r) => left.get(r) !== undefined && String(left.get(r)).includes(t.v);
      throw new CwError('MalformedQueryException', 'like needs a /regex/ or a string');
    }
    if (this.isWord('in')) {
      this.next();
      this.expect('[');
      const values: unknown[] = [];
      while (!this.isOp(']')) {
        values.push(this.operand().get({}));
        if (this.isOp(',')) this.next();
      }
      this.expect(']');
      return (r) => values.includes(left.get(r));
    }
    const op = this.next();
    if (op.t !== 'op' || !['=', '!=', '<', '<=', '>', '>='].includes(op.v)) {
      throw new CwError('MalformedQueryException', 'expected a comparison');
    }
    const right = this.operand();
    return (r) => {
      const a = left.get(r);
      const b = right.get(r);
      if (a === undefined || b === undefined) return false;
      const numeric = typeof b === 'number' || typeof a === 'number';
      const x = numeric ? Number(a) : String(a);
      const y = numeric ? Number(b) : String(b);
      switch (op.v) {
        case '=':
          return x === y;
        case '!=':
          return x !== y;
        case '<':
          return x < y;
        case '<=':
          return x <= y;
        case '>':
          return x > y;
        default:
          return x >= y;
      }
    };
  }

  conjunction(): Expr {
    let e = this.comparison();
    while (this.isWord('and')) {
      this.next();
      const left = e;
      const right = this.comparison();
      e = (r) => Boolean(left(r)) && Boolean(right(r));
    }
    return e;
  }

  expression(): Expr {
    let e = this.conjunction();
    while (this.isWord('or')) {
      this.next();
      const left = e;
      const right = this.conjunction();
      e = (r) => Boolean(left(r)) || Boolean(right(r));
    }
    return e;
  }

  command(): Command {
    const kind = this.word().toLowerCase();
    switch (kind) {
      case 'fields': {
        const fields = [this.word()];
        while (this.isOp(',')) {
          this.next();
          fields.push(this.word());
        }
        return { kind, fields };
      }
      case 'filter':
        return { kind, where: this.expression() };
      case 'sort': {
        const sortField = this.word();
        const desc = this.isWord('desc');
        if (desc || this.isWord('asc')) this.next();
        return { kind, sortField, desc };
      }
      case 'limit': {
        const t = this.next();
        if (t.t !== 'num' || !Number.isInteger(t.v) || t.v < 1 || t.v > 10_000) {
          throw new CwError('MalformedQueryException', 'limit must be 1 to 10000');
        }
        return { kind, limit: t.v };
      }
      case 'stats': {
        const fn = this.word().toLowerCase();
        this.expect('(');
        this.expect('*');
        this.expect(')');
        if (fn !== 'count') throw new CwError('MalformedQueryException', `unsupported ${fn}`);
        let alias = 'count(*)';
        if (this.isWord('as')) {
          this.next();
          alias = this.word();
        }
        const by: { name: string; get: Expr }[] = [];
        if (this.isWord('by')) {
          this.next();
          by.push(this.operand());
          while (this.isOp(',')) {
            this.next();
            by.push(this.operand());
          }
        }
        return { kind, alias, by };
      }
      default:
        throw new CwError('MalformedQueryException', `unknown command ${kind}`);
    }
  }

  pipeline(): Command[] {
    const out = [this.command()];
    while (this.isOp('|')) {
      this.next();
      out.push(this.command());
    }
    if (this.peek()) throw new CwError('MalformedQueryException', 'unexpected trailing tokens');
    return out;
  }
}

function parseQuery(q: string): Command[] {
  if (!q.trim()) throw new CwError('MalformedQueryException', 'empty query');
  return new Parser(tokenize(q)).pipeline();
}

function runPipeline(
  commands: Command[],
  records: Rec[],
  apiLimit: number | undefined,
): { field: string; value: string }[][] {
  let rows = records.slice();
  let fields: string[] | undefined;
  let limit = apiLimit ?? 1000;
  for (const c of commands) {
    if (c.kind === 'fields') fields = c.fields;
    else if (c.kind === 'filter') rows = rows.filter((r) => Boolean(c.where!(r)));
    else if (c.kind === 'sort') {
      const f = c.sortField!;
      rows.sort((a, b) => {
        const x = a[f];
        const y = b[f];
        const cmp = x === y ? 0 : x === undefined ? -1 : y === undefined ? 1 : x < y ? -1 : 1;
        return c.desc ? -cmp : cmp;
      });
    } else if (c.kind === 'limit') limit = c.limit!;
    else if (c.kind === 'stats') {
      const groups = new Map<string, { keys: (string | undefined)[]; n: number }>();
      for (const r of rows) {
        const keys = c.by!.map((b) => {
          const v = b.get(r);
          return v === undefined ? undefined : String(v);
        });
        const k = JSON.stringify(keys);
        const g = groups.get(k) ?? { keys, n: 0 };
        g.n++;
        groups.set(k, g);
      }
      const names = c.by!.map((b) => b.name);
      rows = [...groups.values()].map((g) => {
        const r: Rec = { [c.alias!]: g.n };
        g.keys.forEach((v, i) => {
          if (v !== undefined) r[names[i]!] = v;
        });
        return r;
      });
      fields = [...names, c.alias!];
    }
  }
  const shown = fields ?? ['@timestamp', '@message'];
  return rows.slice(0, limit).map((r) => {
    const out: { field: string; value: string }[] = [];
    for (const f of shown) {
      const v = r[f];
      if (v === undefined) continue;
      out.push({ field: f, value: f === '@timestamp' ? iso(Number(v)) : String(v) });
    }
    if (r['@ptr'] !== undefined && !commands.some((c) => c.kind === 'stats')) {
      out.push({ field: '@ptr', value: String(r['@ptr']) });
    }
    return out;
  });
}
