/**
 * Advisor: the project's findings (security, performance, health), grouped by category and
 * severity, each with why it matters, the object it concerns, and its fix: one click (the exact
 * SQL shown first) or, when a decision is needed, what to decide. The category is in the URL.
 */
import { useMemo, useState } from 'react';
import { createLazyRoute, getRouteApi, Link } from '@tanstack/react-router';
import {
  Activity,
  Gauge,
  RefreshCw,
  ShieldAlert,
  ShieldCheck,
  Wrench,
  type LucideIcon,
} from 'lucide-react';
import { formatDateTime } from '../../lib/format';
import { cn } from '../../lib/cn';
import { Button } from '../../ui/button';
import { CopyButton } from '../../ui/copy-button';
import { ConfirmDialog } from '../../ui/dialog';
import { ErrorPanel } from '../../ui/error-panel';
import { Badge, Card, EmptyState, PageHeader, Skeleton, type BadgeTone } from '../../ui/misc';
import { useFindings, useFix, type Finding } from './hooks';
import { advisorCategories, type AdvisorCategory } from './search';

export const Route = createLazyRoute('/app/advisor')({ component: AdvisorPage });

const route = getRouteApi('/app/advisor');

const categoryInfo: Record<AdvisorCategory, { label: string; icon: LucideIcon; blurb: string }> = {
  security: {
    label: 'Security',
    icon: ShieldAlert,
    blurb: 'Who can read or change data through the API.',
  },
  performance: {
    label: 'Performance',
    icon: Gauge,
    blurb: 'Indexes and policies that make queries slower than they need to be.',
  },
  health: {
    label: 'Health',
    icon: Activity,
    blurb:
      'The running database (sessions, locks, bloat, statistics, connections) and schema hygiene.',
  },
};

const severities = ['critical', 'warning', 'info'] as const;
const severityInfo: Record<Finding['severity'], { label: string; tone: BadgeTone }> = {
  critical: { label: 'Critical', tone: 'danger' },
  warning: { label: 'Warning', tone: 'warning' },
  info: { label: 'Info', tone: 'info' },
};

/** The table (or view) a finding is about, when it has one, and the table page's tab to open. */
function tableOf(
  f: Finding,
): { schema: string; table: string; tab?: 'policies' | 'indexes' } | undefined {
  const o = f.object;
  // The database as a whole, or an auth setting: no table to open.
  if (o.type === 'database' || o.type === 'setting') return undefined;
  const table = o.table ?? (o.type === 'table' || o.type === 'view' ? o.name : undefined);
  if (!table) return undefined;
  const tab =
    f.category === 'security' && o.type !== 'view'
      ? 'policies'
      : o.type === 'index' || f.rule.includes('index') || f.rule.includes('unindexed')
        ? 'indexes'
        : undefined;
  return { schema: o.schema, table, tab };
}

/** What the object line says: its kind, its name, and where it was read from. */
function objectLabel(o: Finding['object']): { kind: string; name: string; title: string } {
  const qualified = `${o.schema}.${o.name}`;
  if (o.type === 'database') {
    // schema.name is the statistics view the finding was read from.
    return { kind: 'database (runtime)', name: `from ${o.name}`, title: qualified };
  }
  if (o.type === 'setting') {
    return { kind: 'auth setting', name: o.name.replace(/^config\./, ''), title: qualified };
  }
  return { kind: o.type, name: qualified, title: qualified };
}

function ObjectRef({ finding }: { finding: Finding }) {
  const o = finding.object;
  const t = tableOf(finding);
  const label = objectLabel(o);
  return (
    <span className="inline-flex min-w-0 items-center gap-1.5 text-xs text-muted">
      <span className="shrink-0">{label.kind}</span>
      <code className="truncate font-mono text-fg" title={label.title}>
        {label.name}
      </code>
      {o.type === 'setting' && (
        <>
          <span aria-hidden>·</span>
          <Link
            to="/auth"
            search={{ tab: 'settings' }}
            className="shrink-0 text-primary hover:underline"
          >
            Open Authentication settings
          </Link>
        </>
      )}
      {t && (
        <>
          <span aria-hidden>·</span>
          <Link
            to="/database/tables/$table"
            params={{ table: t.table }}
            search={{ schema: t.schema === 'public' ? undefined : t.schema, tab: t.tab }}
            className="shrink-0 text-primary hover:underline"
          >
            Open table {t.table}
          </Link>
        </>
      )}
    </span>
  );
}

function SqlBlock({ sql, label }: { sql: string; label: string }) {
  return (
    <div className="relative">
      <pre
        tabIndex={0}
        aria-label={label}
        className="max-h-48 overflow-auto rounded-md border border-border bg-surface-2 p-3 pr-10 font-mono text-xs leading-relaxed whitespace-pre-wrap"
      >
        <code>{sql}</code>
      </pre>
      <div className="absolute top-1.5 right-1.5">
        <CopyButton value={sql} label="the SQL" />
      </div>
    </div>
  );
}

function FindingCard({ finding, onFix }: { finding: Finding; onFix: (f: Finding) => void }) {
  const sev = severityInfo[finding.severity];
  return (
    <li
      className="flex flex-col gap-2 rounded-lg border border-border bg-surface p-4 shadow-xs"
      data-testid="finding"
      data-finding-id={finding.id}
      aria-labelledby={`finding-${finding.id}`}
    >
      <div className="flex items-start justify-between gap-3">
        <div className="flex min-w-0 flex-col gap-1">
          <div className="flex items-center gap-2">
            <Badge tone={sev.tone}>{sev.label}</Badge>
            <h4 id={`finding-${finding.id}`} className="text-sm font-semibold">
              {finding.title}
            </h4>
          </div>
          <ObjectRef finding={finding} />
        </div>
        {finding.fixSql && (
          <Button
            size="sm"
            onClick={() => onFix(finding)}
            aria-label={`Fix: ${finding.title} (${finding.object.name})`}
          >
            <Wrench aria-hidden /> Fix
          </Button>
        )}
      </div>
      <p className="text-sm">{finding.message}</p>
      <p className="text-sm text-muted">
        <span className="font-medium text-fg">Why it matters: </span>
        {finding.why}
      </p>
      {finding.fixSql ? (
        <SqlBlock sql={finding.fixSql} label={`The fix for ${finding.object.name}`} />
      ) : (
        <p className="rounded-md border border-dashed border-border-strong px-3 py-2 text-sm">
          <span className="font-medium">Your decision: </span>
          {finding.remediation}
        </p>
      )}
    </li>
  );
}

function CategoryFilter({
  counts,
  current,
}: {
  counts: Record<AdvisorCategory, number> & { all: number };
  current: AdvisorCategory | undefined;
}) {
  const options: { value: AdvisorCategory | undefined; label: string; count: number }[] = [
    { value: undefined, label: 'All', count: counts.all },
    ...advisorCategories.map((c) => ({ value: c, label: categoryInfo[c].label, count: counts[c] })),
  ];
  return (
    <nav aria-label="Categories" className="mb-4">
      <ul className="inline-flex rounded-lg border border-border bg-surface p-0.5">
        {options.map((o) => {
          const active = o.value === current;
          return (
            <li key={o.label}>
              <Link
                from="/advisor"
                to="."
                search={{ category: o.value }}
                aria-current={active ? 'page' : undefined}
                className={cn(
                  'inline-flex items-center gap-1.5 rounded-md px-3 py-1.5 text-sm font-medium',
                  active ? 'bg-accent text-fg' : 'text-muted hover:text-fg',
                )}
              >
                {o.label}
                <span
                  className={cn(
                    'rounded px-1.5 text-xs tabular-nums',
                    active ? 'bg-surface text-fg' : 'bg-surface-2',
                  )}
                >
                  {o.count}
                </span>
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}

function AdvisorPage() {
  const { category } = route.useSearch();
  const findings = useFindings();
  const fix = useFix();
  const [fixing, setFixing] = useState<Finding>();

  const all = useMemo(() => findings.data ?? [], [findings.data]);
  const counts = useMemo(() => {
    const c = { all: all.length, security: 0, performance: 0, health: 0 };
    for (const f of all) c[f.category] += 1;
    return c;
  }, [all]);
  const shown = advisorCategories.filter((c) => !category || c === category);

  return (
    <>
      <PageHeader
        title="Advisor"
        description="Checks of the exposed schemas, the running database and the auth settings for security holes, slow paths and health problems, each with a fix or the decision to make."
        actions={
          <>
            {findings.dataUpdatedAt > 0 && (
              <span className="text-xs text-muted">
                Checked {formatDateTime(new Date(findings.dataUpdatedAt).toISOString())}
              </span>
            )}
            <Button
              variant="outline"
              onClick={() => void findings.refetch()}
              loading={findings.isFetching}
            >
              {!findings.isFetching && <RefreshCw aria-hidden />} Re-run checks
            </Button>
          </>
        }
      />
      {findings.error ? (
        <ErrorPanel
          error={findings.error}
          title="Could not run the advisor"
          onRetry={() => void findings.refetch()}
        />
      ) : findings.isLoading ? (
        <div className="flex flex-col gap-3" aria-busy>
          <Skeleton className="h-9 w-96" />
          {[0, 1, 2].map((i) => (
            <Skeleton key={i} className="h-40 w-full" />
          ))}
        </div>
      ) : all.length === 0 ? (
        <Card>
          <EmptyState
            icon={ShieldCheck}
            title="All clear"
            description="No finding: every exposed table has row-level security with policies, and nothing slow or risky was found. Re-run the checks after changing the schema."
          />
        </Card>
      ) : (
        <>
          <CategoryFilter counts={counts} current={category} />
          <div className="flex flex-col gap-8">
            {shown.map((c) => {
              const inCategory = all.filter((f) => f.category === c);
              const info = categoryInfo[c];
              const Icon = info.icon;
              return (
                <section key={c} aria-labelledby={`category-${c}`}>
                  <div className="mb-3 flex items-center gap-2">
                    <Icon className="size-4 text-muted" aria-hidden />
                    <h2 id={`category-${c}`} className="text-base font-semibold">
                      {info.label}
                    </h2>
                    <span className="text-sm text-muted">— {info.blurb}</span>
                  </div>
                  {inCategory.length === 0 ? (
                    <p className="rounded-lg border border-dashed border-border px-4 py-6 text-center text-sm text-muted">
                      No {info.label.toLowerCase()} finding.
                    </p>
                  ) : (
                    <div className="flex flex-col gap-4">
                      {severities.map((sev) => {
                        const list = inCategory.filter((f) => f.severity === sev);
                        if (list.length === 0) return null;
                        return (
                          <div key={sev}>
                            <h3 className="mb-2 text-xs font-semibold tracking-wide text-muted uppercase">
                              {severityInfo[sev].label} ({list.length})
                            </h3>
                            <ul
                              className="flex flex-col gap-2"
                              aria-label={`${info.label}: ${severityInfo[sev].label}`}
                            >
                              {list.map((f) => (
                                <FindingCard key={f.id} finding={f} onFix={setFixing} />
                              ))}
                            </ul>
                          </div>
                        );
                      })}
                    </div>
                  )}
                </section>
              );
            })}
          </div>
        </>
      )}
      <ConfirmDialog
        open={Boolean(fixing)}
        onOpenChange={(o) => !o && setFixing(undefined)}
        title="Apply this fix?"
        description={
          fixing && (
            <>
              {fixing.title}: <code className="font-mono">{objectLabel(fixing.object).title}</code>.{' '}
              {fixing.transactional === false
                ? 'This SQL runs as a statement of its own (it cannot run inside a transaction):'
                : 'This SQL runs in one transaction:'}
            </>
          )
        }
        confirmLabel="Run the fix"
        onConfirm={() => fixing && fix.mutateAsync(fixing.id)}
      >
        {fixing?.fixSql && <SqlBlock sql={fixing.fixSql} label="The SQL the fix runs" />}
      </ConfirmDialog>
    </>
  );
}
