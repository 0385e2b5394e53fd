/**
 * The instance's Prometheus metrics (`GET /metrics`, metrics/routes.ts), on prom-client with a
 * registry of the app's own (tests run several apps in one process).
 *
 * - HTTP: one histogram of request durations by method, route and status class. The route is the
 *   declared route's path (`/api/database/records/:table`), set by the route registry
 *   (core/route.ts `routeLabel`) as the request reaches it; a request no declared route took is
 *   labelled with its group's base (`/api/storage/*`, e.g. a 401 from the group's guard) or `other`
 *   (static pages, unknown paths), so clients cannot grow the number of series. The observation is
 *   made where the access log already times the request (core/http.ts `accessLog`): no second
 *   clock reading and no second listener on the hot path.
 * - Everything else is read when scraped: pool and gate use from memory; realtime sockets from
 *   the Socket.IO server; webhook and job backlogs with one query whose result is kept for
 *   `cacheMs`, so frequent or concurrent scrapes cost one query per interval.
 */
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Database } from './db.js';
import type { Logger } from './logger.js';
import { JOB_STATUS_SQL } from '../jobs/status.js';

/** Seconds. Finer at the bottom than prom-client's defaults: records reads take ~1 ms. */
const DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/**
 * The job states that are backlog (waiting, running, waiting for a retry), counted by the status
 * the jobs admin API shows (jobs/status.ts: a SQL job running says queued in jobs.jobs).
 */
const JOB_BACKLOG_STATES = ['queued', 'running', 'failed'] as const;

/** What the scrape reads that is not the registry's own. */
export interface MetricsSources {
  /** Sockets connected to this instance's realtime server. */
  realtimeSockets?: () => number;
}

interface Backlog {
  webhooksPending: number;
  webhooksOldestPendingSeconds: number;
  jobs: Record<string, number>;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Histogram<'method' | 'route' | 'status_class'>;
  private sources: MetricsSources = {};
  private backlog: { at: number; value: Promise<Backlog | undefined> } | undefined;

  constructor(
    private readonly db: Database,
    private readonly options: { cacheMs?: number; logger?: Logger } = {},
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Histogram({
      name: 'kiln_http_request_duration_seconds',
      help: 'HTTP requests by method, declared route and status class, and how long they took (rate: its _count)',
      labelNames: ['method', 'route', 'status_class'],
      buckets: DURATION_BUCKETS,
      registers,
    });

    const pools = () => db.poolStats();
    const poolGauge = (
      name: string,
      help: string,
      read: (p: ReturnType<typeof pools>[number]) => number | undefined,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: ['pool'],
        registers,
        collect() {
          this.reset();
          for (const p of pools()) {
            const v = read(p);
            if (v !== undefined) this.set({ pool: p.name }, v);
          }
        },
      });
    poolGauge(
      'kiln_db_pool_max_connections',
      'Size limit of each PostgreSQL connection pool',
      (p) => p.max,
    );
    poolGauge('kiln_db_pool_connections', 'Connections open in each pool', (p) => p.total);
    poolGauge(
      'kiln_db_pool_idle_connections',
      'Open connections not in use, per pool',
      (p) => p.idle,
    );
    poolGauge(
      'kiln_db_pool_waiting_clients',
      'Callers waiting inside a pool for a connection',
      (p) => p.waiting,
    );
    poolGauge(
      'kiln_db_gate_in_use',
      "Requests holding a slot of the admission gate in front of a pool (Kiln's pool: admins' raw SQL)",
      (p) => p.gate?.inUse,
    );
    poolGauge(
      'kiln_db_gate_waiting',
      'Requests queued at the admission gate in front of a pool (answered 429/503 after DB_QUEUE_TIMEOUT_MS)',
      (p) => p.gate?.waiting,
    );

    const getSources = () => this.sources;
    new Gauge({
      name: 'kiln_realtime_sockets',
      help: 'Realtime (Socket.IO) sockets connected to this instance',
      registers,
      collect() {
        this.set(getSources().realtimeSockets?.() ?? 0);
      },
    });

    const backlog = () => this.readBacklog();
    new Gauge({
      name: 'kiln_webhook_deliveries_pending',
      help: 'Outgoing realtime webhook deliveries not yet delivered (first attempts and retries), all instances',
      registers,
      async collect() {
        this.reset();
        const b = await backlog();
        if (b) this.set(b.webhooksPending);
      },
    });
    new Gauge({
      name: 'kiln_webhook_deliveries_oldest_pending_seconds',
      help: 'Age of the oldest pending webhook delivery (0 when none)',
      registers,
      async collect() {
        this.reset();
        const b = await backlog();
        if (b) this.set(b.webhooksOldestPendingSeconds);
      },
    });
    new Gauge({
      name: 'kiln_jobs',
      help: 'Background jobs not finished, by state: queued (waiting to run), running, failed (waiting for a retry), all instances',
      labelNames: ['state'],
      registers,
      async collect() {
        this.reset();
        const b = await backlog();
        if (!b) return;
        for (const state of JOB_BACKLOG_STATES) this.set({ state }, b.jobs[state] ?? 0);
      },
    });
    new Gauge({
      name: 'kiln_metrics_backlog_up',
      help: 'Whether the last read of the webhook and job backlogs succeeded (1) or not (0)',
      registers,
      async collect() {
        this.set((await backlog()) ? 1 : 0);
      },
    });
  }

  /** Sources that exist only once the app is built (the realtime server). */
  watch(sources: MetricsSources): void {
    this.sources = { ...this.sources, ...sources };
  }

  /** One finished request (core/http.ts accessLog). */
  observeRequest(method: string, route: string | undefined, status: number, seconds: number): void {
    this.requests.observe(
      {
        method: METHODS.has(method) ? method : 'OTHER',
        route: route ?? 'other',
        status_class: STATUS_CLASSES[Math.floor(status / 100) - 1] ?? '5xx',
      },
      seconds,
    );
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** The backlogs, read at most once per `cacheMs` (every gauge of one scrape shares the read). */
  private readBacklog(): Promise<Backlog | undefined> {
    const now = Date.now();
    if (this.backlog && now - this.backlog.at < (this.options.cacheMs ?? 1500))
      return this.backlog.value;
    const value = this.db
      .query<{ pending: number; oldest: number | null; jobs: Record<string, number> }>(
        `SELECT (SELECT count(*)::int FROM realtime.webhook_deliveries WHERE status = 'pending') AS pending,
                (SELECT extract(epoch FROM now() - min(created_at))::float8
                   FROM realtime.webhook_deliveries WHERE status = 'pending') AS oldest,
                (SELECT coalesce(jsonb_object_agg(status, n), '{}'::jsonb)
                   FROM (SELECT ${JOB_STATUS_SQL} AS status, count(*)::int AS n FROM jobs.jobs j
                          WHERE j.status = ANY($1::text[]) GROUP BY 1) s) AS jobs`,
        [JOB_BACKLOG_STATES],
      )
      .then(
        ({ rows: [row] }): Backlog => ({
          webhooksPending: row!.pending,
          webhooksOldestPendingSeconds: Math.max(0, row!.oldest ?? 0),
          jobs: row!.jobs,
        }),
        (err: unknown) => {
          this.options.logger?.warn('metrics: reading the backlogs failed', { error: String(err) });
          return undefined;
        },
      );
    this.backlog = { at: now, value };
    return value;
  }
}
