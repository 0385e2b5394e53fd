/**
 * Migrations (/database/migrations?selected=): the applied ones (newest first; one opens in a side
 * panel with its SQL) and a form for a new one: a dry run first (it runs in a transaction that is
 * rolled back, answering its statements, notices and the tables and columns it would change),
 * then apply (recorded by version, in one transaction).
 */
import { useMemo, useState } from 'react';
import { createLazyRoute, getRouteApi } from '@tanstack/react-router';
import { FlaskConical, History, Play } from 'lucide-react';
import { Button } from '../../ui/button';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { ErrorPanel } from '../../ui/error-panel';
import { FormField } from '../../ui/form-field';
import { Input, Textarea } from '../../ui/input';
import { Badge, Card } from '../../ui/misc';
import { Sheet, SheetContent } from '../../ui/sheet';
import { Definition } from './catalog-list';
import { SectionHeader } from './section-header';
import {
  useApplyMigration,
  useDryRunMigration,
  useMigrations,
  type Migration,
  type MigrationBody,
  type MigrationResult,
} from './schema-hooks';
import { fieldErrors } from './table-form';

export const Route = createLazyRoute('/app/database/migrations')({ component: Page });

const route = getRouteApi('/app/database/migrations');

/** A version from the clock: 20261130121500. */
function nowVersion(): string {
  return new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

function Page() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const migrations = useMigrations();
  const newestFirst = useMemo(() => migrations.data?.slice().reverse(), [migrations.data]);
  const selected = migrations.data?.find((m) => m.version === search.selected);
  const columns = useMemo<ColumnDef<Migration, unknown>[]>(
    () => [
      {
        id: 'version',
        header: 'Version',
        size: 170,
        cell: ({ row }) => (
          <button
            type="button"
            className="cursor-pointer font-mono text-xs hover:text-primary hover:underline"
            onClick={(e) => {
              e.stopPropagation();
              void navigate({ search: { selected: row.original.version } });
            }}
          >
            {row.original.version}
          </button>
        ),
      },
      { id: 'name', header: 'Name', cell: ({ row }) => row.original.name },
      {
        id: 'applied',
        header: 'Applied',
        cell: ({ row }) => (
          <span className="text-muted">
            {new Date(row.original.createdAt).toLocaleString()}
            {row.original.appliedBy ? ` · ${row.original.appliedBy}` : ''}
          </span>
        ),
      },
    ],
    [navigate],
  );
  return (
    <div className="flex flex-col gap-4">
      <SectionHeader
        title="Migrations"
        description="Versioned SQL changes, each applied once in its own transaction. Try one as a dry run first: it runs and is rolled back."
      />
      <NewMigration />
      <h3 className="text-sm font-semibold">Applied</h3>
      <DataTable
        label="Applied migrations"
        columns={columns}
        data={newestFirst}
        isLoading={migrations.isLoading}
        error={migrations.error}
        onRetry={() => void migrations.refetch()}
        getRowId={(m) => m.version}
        onRowClick={(m) => void navigate({ search: { selected: m.version } })}
        empty={{
          icon: History,
          title: 'No migrations yet',
          description: 'Write one above, dry-run it, then apply it.',
        }}
      />
      <Sheet
        open={Boolean(selected)}
        onOpenChange={(o) => !o && void navigate({ search: { selected: undefined } })}
      >
        {selected && (
          <SheetContent
            title={`${selected.version} ${selected.name}`}
            description={`Applied ${new Date(selected.createdAt).toLocaleString()}${selected.appliedBy ? ` by ${selected.appliedBy}` : ''} · checksum ${selected.checksum.slice(0, 12)}`}
          >
            <Definition sql={selected.sql} />
          </SheetContent>
        )}
      </Sheet>
    </div>
  );
}

function NewMigration() {
  const [version, setVersion] = useState(nowVersion);
  const [name, setName] = useState('');
  const [sql, setSql] = useState('');
  const body: MigrationBody = { version, name: name.trim(), sql };
  const key = JSON.stringify(body);
  const dryRun = useDryRunMigration();
  const [tried, setTried] = useState<{ key: string; result: MigrationResult } | null>(null);
  const apply = useApplyMigration(() => {
    setName('');
    setSql('');
    setVersion(nowVersion());
    setTried(null);
  });
  const errors = fieldErrors(apply.error ?? dryRun.error);
  const current = tried?.key === key ? tried.result : undefined;
  const ready = Boolean(version && name.trim() && sql.trim());
  return (
    <Card title="New migration">
      <div className="flex flex-col gap-4">
        <div className="grid grid-cols-[14rem_minmax(0,1fr)] gap-4">
          <FormField label="Version" error={errors.byField.version} hint="Digits; applied in order">
            <Input
              value={version}
              onChange={(e) => setVersion(e.target.value)}
              className="font-mono"
              inputMode="numeric"
            />
          </FormField>
          <FormField label="Name" error={errors.byField.name}>
            <Input
              value={name}
              onChange={(e) => setName(e.target.value)}
              placeholder="add_orders_status"
            />
          </FormField>
        </div>
        <FormField label="SQL" error={errors.byField.sql}>
          <Textarea
            value={sql}
            onChange={(e) => setSql(e.target.value)}
            className="min-h-40 font-mono text-xs"
            spellCheck={false}
            placeholder="ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'new';"
          />
        </FormField>
        {errors.general && (
          <ErrorPanel
            error={apply.error ?? dryRun.error}
            title={apply.error ? 'Not applied' : 'The dry run failed'}
          />
        )}
        <div className="flex items-center justify-end gap-2">
          <span className="mr-auto text-xs text-muted">
            {current
              ? 'Dry run done: apply runs exactly this.'
              : 'Apply is enabled after a successful dry run of this SQL.'}
          </span>
          <Button
            variant="outline"
            disabled={!ready}
            loading={dryRun.isPending}
            onClick={() =>
              dryRun.mutate(body, {
                onSuccess: (result) => {
                  apply.reset();
                  setTried({ key, result });
                },
                onError: () => setTried(null),
              })
            }
          >
            <FlaskConical aria-hidden /> Dry run
          </Button>
          <Button disabled={!current} loading={apply.isPending} onClick={() => apply.mutate(body)}>
            <Play aria-hidden /> Apply
          </Button>
        </div>
        {current && <DryRunReport result={current} />}
      </div>
    </Card>
  );
}

function DryRunReport({ result }: { result: MigrationResult }) {
  const c = result.changes;
  const groups: [string, string[], 'success' | 'danger' | 'warning'][] = [
    ['Tables created', c.createdTables, 'success'],
    ['Tables dropped', c.droppedTables, 'danger'],
    ['Columns added', c.addedColumns, 'success'],
    ['Columns dropped', c.droppedColumns, 'danger'],
    ['Columns changed', c.changedColumns, 'warning'],
  ];
  const changed = groups.filter(([, xs]) => xs.length);
  return (
    <section
      aria-label="Dry run result"
      className="flex flex-col gap-3 rounded-md border border-border bg-surface-2 p-3 text-sm"
    >
      <p className="font-medium">{result.message}</p>
      <div>
        <h4 className="mb-1 text-xs font-semibold text-muted">Statements</h4>
        <ul className="flex flex-wrap gap-1">
          {result.statements.map((s, i) => (
            <li key={i}>
              <Badge>
                {s.command}
                {s.rowCount !== null ? ` · ${s.rowCount} row${s.rowCount === 1 ? '' : 's'}` : ''}
              </Badge>
            </li>
          ))}
        </ul>
      </div>
      <div>
        <h4 className="mb-1 text-xs font-semibold text-muted">Schema changes</h4>
        {changed.length === 0 ? (
          <p className="text-muted">No table or column of the exposed schemas changes.</p>
        ) : (
          <dl className="grid grid-cols-[10rem_minmax(0,1fr)] gap-x-3 gap-y-1">
            {changed.map(([label, xs, tone]) => (
              <div key={label} className="contents">
                <dt className="text-muted">{label}</dt>
                <dd className="flex flex-wrap gap-1">
                  {xs.map((x) => (
                    <Badge key={x} tone={tone}>
                      {x}
                    </Badge>
                  ))}
                </dd>
              </div>
            ))}
          </dl>
        )}
      </div>
      {result.notices.length > 0 && (
        <div>
          <h4 className="mb-1 text-xs font-semibold text-muted">Notices</h4>
          <ul className="list-inside list-disc text-xs">
            {result.notices.map((n, i) => (
              <li key={i}>
                {n.severity}: {n.message}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
