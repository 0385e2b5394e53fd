/**
 * AWS CloudWatch Logs as the log provider. Writing: a winston transport per source queues each
 * JSON line and a shipper sends them with PutLogEvents (batched, every second or sooner when a
 * batch fills) to log group CLOUDWATCH_LOG_GROUP, one log stream per source, creating the group
 * and streams when missing. Reading: FilterLogEvents newest first for a source's pages, Logs
 * Insights (StartQuery / GetQueryResults) for search, totals and stats, DescribeLogGroups /
 * DescribeLogStreams for the source list.
 */
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetQueryResultsCommand,
  PutLogEventsCommand,
  StartQueryCommand,
  StopQueryCommand,
  type InputLogEvent,
  type LogGroup,
  type LogStream,
} from '@aws-sdk/client-cloudwatch-logs';
import winston from 'winston';
import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import {
  bucketStarts,
  LOG_LEVELS,
  LOG_SOURCES,
  SOURCE_NAMES,
  statsResult,
  logEntry,
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

export interface CloudWatchOptions {
  group: string;
  region: string;
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** How often queued lines are shipped (default 1000 ms). */
  flushMs?: number;
  /** Lines kept per stream while CloudWatch cannot be reached; the oldest go first (default 10,000). */
  maxQueue?: number;
  /** Longest wait for an Insights query (default 30 s). */
  queryTimeoutMs?: number;
  /** Told about shipping failures, at most once a minute. */
  onError?: (message: string, error: unknown) => void;
}

// PutLogEvents limits: 10,000 events and 1,048,576 bytes (message bytes + 26 each) per call, all
// within 24 hours; one event at most 256 KiB.
const BATCH_EVENTS = 10_000;
const BATCH_BYTES = 1_048_576;
const EVENT_OVERHEAD = 26;
const MAX_EVENT_BYTES = 256 * 1024 - EVENT_OVERHEAD;
const DAY_MS = 24 * 3600_000;
/** FilterLogEvents reads newest first only from this date on. */
const NEWEST_FIRST_SINCE = Date.UTC(2024, 0, 1);
/** Logs Insights returns at most this many rows. */
export const INSIGHTS_MAX_ROWS = 10_000;

const MESSAGE = Symbol.for('message');

interface Pending {
  timestamp: number;
  message: string;
  bytes: number;
}

function errorName(err: unknown): string {
  return (err as { name?: string } | null)?.name ?? '';
}

function truncateUtf8(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s) <= maxBytes) return s;
  return Buffer.from(s)
    .subarray(0, maxBytes)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}

/** Queues lines per stream and ships them with PutLogEvents. */
export class CloudWatchShipper {
  private readonly queues = new Map<string, Pending[]>();
  private readonly streamsReady = new Set<string>();
  private groupReady = false;
  private chain: Promise<void> = Promise.resolve();
  private waiting: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private lastErrorReport = 0;
  private closed = false;
  /** Lines dropped because the queue was full. */
  dropped = 0;

  constructor(
    private readonly client: CloudWatchLogsClient,
    private readonly group: string,
    private readonly options: Pick<CloudWatchOptions, 'flushMs' | 'maxQueue' | 'onError'> = {},
  ) {
    this.timer = setInterval(() => void this.flush(), options.flushMs ?? 1000);
    this.timer.unref();
  }

  enqueue(stream: string, timestamp: number, message: string): void {
    if (this.closed) return;
    const text = truncateUtf8(message, MAX_EVENT_BYTES);
    let queue = this.queues.get(stream);
    if (!queue) this.queues.set(stream, (queue = []));
    queue.push({ timestamp, message: text, bytes: Buffer.byteLength(text) + EVENT_OVERHEAD });
    const max = this.options.maxQueue ?? 10_000;
    if (queue.length > max) {
      this.dropped += queue.length - max;
      queue.splice(0, queue.length - max);
    }
    if (queue.length >= 1000) void this.flush();
  }

  /**
   * Ships everything queued so far. Flushes run one after another; callers arriving while one
   * waits to start share it.
   */
  flush(): Promise<void> {
    if (this.waiting) return this.waiting;
    const next = this.chain.then(() => {
      this.waiting = undefined;
      return this.shipAll();
    });
    this.waiting = next;
    this.chain = next;
    return next;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    this.closed = true;
  }

  private async shipAll(): Promise<void> {
    for (const [stream, queue] of this.queues) {
      // Only what was queued when this stream's turn came: later lines wait for the next flush
      // rather than trickling out in small batches.
      let remaining = queue.length;
      while (remaining > 0) {
        const batch = takeBatch(queue, remaining);
        remaining -= batch.length;
        try {
          await this.put(stream, batch);
        } catch (err) {
          // Keep the lines for the next flush (a bounded queue, see enqueue).
          queue.unshift(...batch);
          this.report(`shipping logs to CloudWatch failed (${stream})`, err);
          return;
        }
      }
    }
  }

  private async put(stream: string, batch: Pending[]): Promise<void> {
    const logEvents: InputLogEvent[] = batch.map((e) => ({
      timestamp: e.timestamp,
      message: e.message,
    }));
    await this.ensureStream(stream);
    try {
      await this.client.send(
        new PutLogEventsCommand({ logGroupName: this.group, logStreamName: stream, logEvents }),
      );
    } catch (err) {
      if (errorName(err) !== 'ResourceNotFoundException') throw err;
      // Deleted behind our back: create it again and retry once.
      this.groupReady = false;
      this.streamsReady.delete(stream);
      await this.ensureStream(stream);
      await this.client.send(
        new PutLogEventsCommand({ logGroupName: this.group, logStreamName: stream, logEvents }),
      );
    }
  }

  private async ensureStream(stream: string): Promise<void> {
    if (!this.groupReady) {
      await ignoreExists(this.client.send(new CreateLogGroupCommand({ logGroupName: this.group })));
      this.groupReady = true;
    }
    if (!this.streamsReady.has(stream)) {
      await ignoreExists(
        this.client.send(
          new CreateLogStreamCommand({ logGroupName: this.group, logStreamName: stream }),
        ),
      );
      this.streamsReady.add(stream);
    }
  }

  private report(message: string, err: unknown): void {
    const now = Date.now();
    if (now - this.lastErrorReport < 60_000) return;
    this.lastErrorReport = now;
    this.options.onError?.(message, err);
  }
}

async function ignoreExists(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (errorName(err) !== 'ResourceAlreadyExistsException') throw err;
  }
}

/** The oldest of the first `available` queued events that fit one PutLogEvents call, in time order. */
function takeBatch(queue: Pending[], available: number): Pending[] {
  // Lines of one logger arrive in order; sort anyway (stable) since PutLogEvents insists.
  const head = queue.slice(0, available).sort((a, b) => a.timestamp - b.timestamp);
  queue.splice(0, available, ...head);
  let n = 0;
  let bytes = 0;
  const first = queue[0]!.timestamp;
  while (
    n < available &&
    n < BATCH_EVENTS &&
    bytes + queue[n]!.bytes <= BATCH_BYTES &&
    queue[n]!.timestamp - first < DAY_MS
  ) {
    bytes += queue[n]!.bytes;
    n++;
  }
  return queue.splice(0, Math.max(1, n));
}

type TransportInstance = Parameters<winston.Logger['add']>[0];
// winston re-exports winston-transport's base class at runtime (its typings name it otherwise).
const TransportBase = (winston as unknown as { Transport: new () => TransportInstance }).Transport;

/** Hands each formatted line of a logger to the shipper under one stream. */
export class CloudWatchTransport extends TransportBase {
  constructor(
    private readonly shipper: CloudWatchShipper,
    private readonly stream: string,
  ) {
    super();
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    const line = typeof info[MESSAGE] === 'string' ? info[MESSAGE] : JSON.stringify(info);
    const parsed = typeof info.timestamp === 'string' ? Date.parse(info.timestamp) : NaN;
    this.shipper.enqueue(this.stream, Number.isNaN(parsed) ? Date.now() : parsed, line);
    next();
  }
}

/** Insights string literal. */
function quote(s: string): string {
  return `"${s.replace(/["\\]/g, '\\$&')}"`;
}

/** Insights regex (between slashes) matching `text` literally. */
function regexLiteral(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Insights `@timestamp` values look like "2026-11-22 05:20:34.410" (UTC). */
function insightsTime(value: string | undefined): number {
  if (!value) return NaN;
  return Date.parse(`${value.replace(' ', 'T')}${/Z$|[+-]\d\d:?\d\d$/.test(value) ? '' : 'Z'}`);
}

function entryFrom(source: LogSource, timestamp: number, message: string): LogEntry {
  try {
    const entry = toEntry(source, JSON.parse(message), message);
    if (entry) return entry;
  } catch {
    // Not a JSON line (written by something else, or truncated): show it as it is.
  }
  return logEntry(source, message, {
    timestamp: new Date(timestamp).toISOString(),
    level: 'info',
    message,
    metadata: {},
  });
}

export class CloudWatchLogProvider implements LogProvider {
  readonly kind = 'cloudwatch' as const;
  readonly client: CloudWatchLogsClient;
  readonly shipper: CloudWatchShipper;
  private readonly attached: { logger: Logger; transport: CloudWatchTransport }[] = [];
  private groupCreated: number | undefined;

  constructor(private readonly options: CloudWatchOptions) {
    this.client = new CloudWatchLogsClient({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.accessKeyId && options.secretAccessKey
        ? {
            credentials: {
              accessKeyId: options.accessKeyId,
              secretAccessKey: options.secretAccessKey,
            },
          }
        : {}),
      maxAttempts: 3,
      // An endpoint that stops answering must not hang reads or shutdown.
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 15_000 },
    });
    this.shipper = new CloudWatchShipper(this.client, options.group, options);
  }

  attach(source: LogSource, logger: Logger): void {
    const transport = new CloudWatchTransport(this.shipper, source);
    logger.add(transport);
    this.attached.push({ logger, transport });
  }

  async close(): Promise<void> {
    for (const { logger, transport } of this.attached.splice(0)) logger.remove(transport);
    await this.shipper.close();
    this.client.destroy();
  }

  /**
   * Runs an SDK call; AWS failures become 502 (never a bare 500). `notFound` answers for a group
   * or stream that does not exist (yet).
   */
  private async call<T, U = T>(
    what: string,
    fn: () => Promise<T>,
    notFound?: () => U,
  ): Promise<T | U> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (notFound && errorName(err) === 'ResourceNotFoundException') return notFound();
      throw new AppError(
        502,
        'LOG_PROVIDER_ERROR',
        `CloudWatch Logs ${what} failed: ${errorName(err) || 'error'}: ${(err as Error).message ?? String(err)}`,
      );
    }
  }

  private async describeGroup(): Promise<LogGroup | undefined> {
    const res = await this.call('DescribeLogGroups', () =>
      this.client.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: this.options.group })),
    );
    const group = res.logGroups?.find((g) => g.logGroupName === this.options.group);
    if (group) this.groupCreated = group.creationTime ?? 0;
    return group;
  }

  private async groupCreationTime(): Promise<number | undefined> {
    if (this.groupCreated === undefined) await this.describeGroup();
    return this.groupCreated;
  }

  async sources(): Promise<SourcesResult> {
    await this.shipper.flush();
    const group = await this.describeGroup();
    const streams = new Map<string, LogStream>();
    if (group) {
      let nextToken: string | undefined;
      for (let page = 0; page < 20; page++) {
        const res = await this.call('DescribeLogStreams', () =>
          this.client.send(
            new DescribeLogStreamsCommand({ logGroupName: this.options.group, nextToken }),
          ),
        );
        for (const s of res.logStreams ?? []) if (s.logStreamName) streams.set(s.logStreamName, s);
        nextToken = res.nextToken;
        if (!nextToken) break;
      }
    }
    return {
      provider: 'cloudwatch',
      logGroup: this.options.group,
      logGroupBytes: group?.storedBytes ?? null,
      sources: SOURCE_NAMES.map((name) => {
        const s = streams.get(name);
        return {
          name,
          description: LOG_SOURCES[name].description,
          available: Boolean(s),
          // CloudWatch no longer reports sizes per log stream (always 0); the group's is above.
          sizeBytes: null,
          lastEventAt: s?.lastEventTimestamp ? new Date(s.lastEventTimestamp).toISOString() : null,
        };
      }),
    };
  }

  async list(source: LogSource, query: ListQuery): Promise<LogPage> {
    await this.shipper.flush();
    const created = await this.groupCreationTime();
    if (created === undefined) return { logs: [], total: 0, totalExact: true, hasMore: false };
    const logs: LogEntry[] = [];
    let hasMore = false;
    let lastTs: number | undefined;
    let nextToken: string | undefined;
    // Newest first; a full page still takes every event sharing its oldest timestamp.
    const endTime = query.beforeMs === undefined ? undefined : query.beforeMs - 1;
    const countPromise = this.count([source], {}, created);
    countPromise.catch(() => undefined);
    pages: for (let page = 0; page < 50; page++) {
      const res = await this.call(
        'FilterLogEvents',
        () =>
          this.client.send(
            new FilterLogEventsCommand({
              logGroupName: this.options.group,
              logStreamNames: [source],
              startTime: NEWEST_FIRST_SINCE,
              ...(endTime !== undefined ? { endTime } : {}),
              startFromHead: false,
              limit: Math.min(10_000, query.limit + 1),
              nextToken,
            }),
          ),
        () => ({ events: [], nextToken: undefined }),
      );
      for (const e of res.events ?? []) {
        const ts = e.timestamp ?? 0;
        if (logs.length >= query.limit && (ts !== lastTs || logs.length >= query.limit + 10_000)) {
          hasMore = true;
          break pages;
        }
        logs.push(entryFrom(source, ts, e.message ?? ''));
        lastTs = ts;
      }
      if (!res.nextToken || res.nextToken === nextToken) break;
      nextToken = res.nextToken;
    }
    const total = await countPromise;
    return { logs, total, totalExact: true, hasMore };
  }

  private filters(
    sources: LogSource[],
    q: { q?: string; level?: string; fromMs?: number; toMs?: number },
  ): string[] {
    const out = [
      sources.length === 1
        ? `@logStream = ${quote(sources[0]!)}`
        : `@logStream in [${sources.map(quote).join(', ')}]`,
    ];
    if (q.level) out.push(`level = ${quote(q.level)}`);
    // The text as it appears in the JSON line, any case.
    if (q.q) out.push(`@message like /(?i)${regexLiteral(JSON.stringify(q.q).slice(1, -1))}/`);
    if (q.fromMs !== undefined) out.push(`toMillis(@timestamp) >= ${q.fromMs}`);
    if (q.toMs !== undefined) out.push(`toMillis(@timestamp) < ${q.toMs}`);
    return out;
  }

  /**
   * The query range when from/to are not given: events may carry times up to 14 days before the
   * group was created (PutLogEvents accepts that much), and a little ahead of now.
   */
  private range(created: number, q: { fromMs?: number; toMs?: number }): [number, number] {
    return [q.fromMs ?? Math.max(0, created - 14 * DAY_MS), q.toMs ?? Date.now() + 60_000];
  }

  private async count(
    sources: LogSource[],
    q: { q?: string; level?: string; fromMs?: number; toMs?: number },
    created: number,
  ): Promise<number> {
    const [from, to] = this.range(created, q);
    const rows = await this.insights(
      `filter ${this.filters(sources, q).join(' and ')} | stats count(*) as total`,
      from,
      to,
    );
    return Number(rows[0]?.total ?? 0);
  }

  async search(query: SearchQuery): Promise<LogPage> {
    if (query.offset + query.limit > INSIGHTS_MAX_ROWS) {
      throw new AppError(
        400,
        'INVALID_INPUT',
        `offset + limit must be at most ${INSIGHTS_MAX_ROWS} with CloudWatch Logs`,
        'Narrow the range with from/to instead of paging deeper',
      );
    }
    await this.shipper.flush();
    const created = await this.groupCreationTime();
    if (created === undefined) return { logs: [], total: 0, totalExact: true, hasMore: false };
    const sources = query.source ? [query.source] : SOURCE_NAMES;
    const [from, to] = this.range(created, query);
    const [rows, total] = await Promise.all([
      this.insights(
        `fields @timestamp, @message, @logStream | filter ${this.filters(sources, query).join(' and ')}` +
          ` | sort @timestamp desc | limit ${query.offset + query.limit}`,
        from,
        to,
      ),
      this.count(sources, query, created),
    ]);
    const logs = rows.slice(query.offset).map((r) => {
      const source = (r['@logStream'] ?? 'kiln.logs') as LogSource;
      return entryFrom(source, insightsTime(r['@timestamp']), r['@message'] ?? '');
    });
    return {
      logs,
      total,
      totalExact: true,
      hasMore: query.offset + logs.length < total,
    };
  }

  async stats(query: StatsQuery): Promise<StatsResult> {
    await this.shipper.flush();
    const buckets = bucketStarts(query);
    const counts = new Map<LogSource, Map<string, number[]>>();
    if ((await this.groupCreationTime()) !== undefined) {
      const seconds = query.bucketMs / 1000;
      const rows = await this.insights(
        `filter ${this.filters(SOURCE_NAMES, query).join(' and ')}` +
          ` | stats count(*) as n by @logStream, level, bin(${seconds}s) | limit ${INSIGHTS_MAX_ROWS}`,
        query.fromMs,
        query.toMs,
      );
      const known = new Set<string>(LOG_LEVELS);
      for (const row of rows) {
        const source = row['@logStream'] as LogSource;
        if (!SOURCE_NAMES.includes(source)) continue;
        const at = insightsTime(row[`bin(${seconds}s)`]);
        const index = Math.floor((at - query.fromMs) / query.bucketMs);
        if (!(index >= 0 && index < buckets.length)) continue;
        const level = row.level && known.has(row.level) ? row.level : 'other';
        let levels = counts.get(source);
        if (!levels) counts.set(source, (levels = new Map()));
        let c = levels.get(level);
        if (!c) levels.set(level, (c = new Array<number>(buckets.length).fill(0)));
        c[index]! += Number(row.n ?? 0);
      }
    }
    return statsResult(query, buckets, counts);
  }

  /** Runs a Logs Insights query and waits for its rows. */
  private async insights(
    queryString: string,
    fromMs: number,
    toMs: number,
  ): Promise<Record<string, string>[]> {
    const started = await this.call(
      'StartQuery',
      () =>
        this.client.send(
          new StartQueryCommand({
            logGroupName: this.options.group,
            startTime: Math.floor(fromMs / 1000),
            endTime: Math.ceil(toMs / 1000),
            queryString,
          }),
        ),
      () => undefined,
    );
    if (!started) return [];
    const queryId = started.queryId;
    const deadline = Date.now() + (this.options.queryTimeoutMs ?? 30_000);
    let delay = 50;
    for (;;) {
      const res = await this.call('GetQueryResults', () =>
        this.client.send(new GetQueryResultsCommand({ queryId })),
      );
      if (res.status === 'Complete') {
        return (res.results ?? []).map((fields) => {
          const row: Record<string, string> = {};
          for (const f of fields) if (f.field && f.value !== undefined) row[f.field] = f.value;
          return row;
        });
      }
      if (res.status !== 'Running' && res.status !== 'Scheduled') {
        throw new AppError(
          502,
          'LOG_PROVIDER_ERROR',
          `CloudWatch Logs Insights query ended as ${res.status}`,
        );
      }
      if (Date.now() > deadline) {
        await this.client.send(new StopQueryCommand({ queryId })).catch(() => undefined);
        throw new AppError(
          504,
          'LOG_QUERY_TIMEOUT',
          'The CloudWatch Logs Insights query took too long',
        );
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(1000, delay * 2);
    }
  }
}
