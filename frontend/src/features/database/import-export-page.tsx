/**
 * Import and export (/database/import-export?mode=import|export).
 * Import: an .sql file runs in one transaction; CSV or JSON rows go to a table either inserted or
 * updated by key with a report per row (bulk upsert: good rows land, each refused row is listed
 * with why) or appended all or nothing. The upload shows its progress (XHR upload events).
 * Export: the chosen tables' schema and/or data as SQL or JSON, downloaded.
 */
import { useMemo, useState } from 'react';
import { createLazyRoute, getRouteApi } from '@tanstack/react-router';
import { Download, Upload } from 'lucide-react';
import { Button } from '../../ui/button';
import { Checkbox } from '../../ui/checkbox';
import { ErrorPanel } from '../../ui/error-panel';
import { FormField } from '../../ui/form-field';
import { Input } from '../../ui/input';
import { Badge, Card } from '../../ui/misc';
import { Select } from '../../ui/select';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '../../ui/tabs';
import { formatBytes } from './format';
import { useTableStats } from './hooks';
import {
  useBulkUpsert,
  useExport,
  useImport,
  type ImportResult,
  type UpsertReport,
} from './schema-hooks';
import { SectionHeader } from './section-header';

export const Route = createLazyRoute('/app/database/import-export')({ component: Page });

const route = getRouteApi('/app/database/import-export');

function Page() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const mode = search.mode ?? 'import';
  return (
    <div className="flex flex-col gap-4">
      <SectionHeader
        title="Import & export"
        description="Load CSV, JSON or SQL files into the database, or download tables as SQL or JSON."
      />
      <Tabs
        value={mode}
        onValueChange={(v) =>
          void navigate({ search: { mode: v === 'import' ? undefined : (v as 'export') } })
        }
      >
        <TabsList>
          <TabsTrigger value="import">Import</TabsTrigger>
          <TabsTrigger value="export">Export</TabsTrigger>
        </TabsList>
        <TabsContent value="import">
          <ImportPanel />
        </TabsContent>
        <TabsContent value="export">
          <ExportPanel />
        </TabsContent>
      </Tabs>
    </div>
  );
}

function useTableNames() {
  const stats = useTableStats();
  return useMemo(
    () =>
      (stats.data?.data ?? [])
        .filter((t) => t.kind === 'table' || t.kind === 'partitioned_table')
        .map((t) => (t.schemaName === 'public' ? t.tableName : `${t.schemaName}.${t.tableName}`)),
    [stats.data],
  );
}

const kindOf = (name: string) =>
  name.toLowerCase().endsWith('.sql')
    ? 'sql'
    : name.toLowerCase().endsWith('.json')
      ? 'json'
      : 'csv';

function ImportPanel() {
  const tables = useTableNames();
  const [file, setFile] = useState<File | null>(null);
  const [table, setTable] = useState('');
  const [how, setHow] = useState<'upsert' | 'append'>('upsert');
  const [truncate, setTruncate] = useState(false);
  const [progress, setProgress] = useState<number | null>(null);
  const [report, setReport] = useState<
    { kind: 'upsert'; r: UpsertReport } | { kind: 'import'; r: ImportResult } | null
  >(null);
  const upsert = useBulkUpsert((r) => setReport({ kind: 'upsert', r }));
  const importer = useImport((r) => setReport({ kind: 'import', r }));
  const kind = file ? kindOf(file.name) : undefined;
  const rows = kind === 'csv' || kind === 'json';
  const busy = upsert.isPending || importer.isPending;
  const error = upsert.error ?? importer.error;
  const [schemaName, tableName] = table.includes('.') ? table.split('.', 2) : [undefined, table];

  const start = () => {
    if (!file) return;
    setReport(null);
    setProgress(0);
    upsert.reset();
    importer.reset();
    const input = { file, table: tableName, schema: schemaName, onProgress: setProgress };
    const done = { onSettled: () => setProgress(null) };
    if (rows && how === 'upsert') upsert.mutate(input, done);
    else importer.mutate(rows ? { ...input, truncate } : { file, onProgress: setProgress }, done);
  };

  return (
    <Card>
      <div className="flex flex-col gap-4">
        <FormField
          label="File"
          hint="An .sql file runs in one transaction; .csv (with a header row) and .json (an array of objects) fill a table."
        >
          <Input
            type="file"
            accept=".csv,.json,.sql,text/csv,application/json,application/sql"
            className="max-w-xl py-1"
            onChange={(e) => {
              setFile(e.target.files?.[0] ?? null);
              setReport(null);
            }}
          />
        </FormField>
        {file && (
          <p className="text-sm text-muted">
            {file.name} · {formatBytes(file.size)} · <Badge>{kind}</Badge>
          </p>
        )}
        {rows && (
          <>
            <FormField label="Into table">
              <Select
                className="max-w-sm"
                value={table}
                onValueChange={setTable}
                placeholder="Pick a table"
                options={tables.map((t) => ({ value: t, label: t }))}
              />
            </FormField>
            <fieldset className="flex flex-col gap-2">
              <legend className="mb-1 text-sm font-medium">How</legend>
              <label className="flex items-start gap-2 text-sm">
                <input
                  type="radio"
                  name="import-how"
                  checked={how === 'upsert'}
                  onChange={() => setHow('upsert')}
                  className="mt-1 accent-[var(--kiln-primary)]"
                />
                <span>
                  Insert or update by primary key, with a report per row
                  <span className="block text-xs text-muted">
                    Good rows are saved; each refused row is listed with the reason.
                  </span>
                </span>
              </label>
              <label className="flex items-start gap-2 text-sm">
                <input
                  type="radio"
                  name="import-how"
                  checked={how === 'append'}
                  onChange={() => setHow('append')}
                  className="mt-1 accent-[var(--kiln-primary)]"
                />
                <span>
                  Append all rows, or none
                  <span className="block text-xs text-muted">
                    One transaction: the first bad row stops the import.
                  </span>
                </span>
              </label>
              {how === 'append' && (
                <label className="ml-6 flex items-center gap-2 text-sm">
                  <Checkbox checked={truncate} onCheckedChange={(v) => setTruncate(v === true)} />
                  Empty the table first
                </label>
              )}
            </fieldset>
          </>
        )}
        <div className="flex items-center gap-3">
          <Button onClick={start} disabled={!file || (rows && !table)} loading={busy}>
            <Upload aria-hidden /> Import
          </Button>
          {progress !== null && (
            <div className="flex flex-1 items-center gap-2">
              <div
                role="progressbar"
                aria-label="Upload progress"
                aria-valuemin={0}
                aria-valuemax={100}
                aria-valuenow={Math.round(progress * 100)}
                className="h-2 flex-1 overflow-hidden rounded-full bg-surface-2"
              >
                <div
                  className="h-full bg-primary transition-[width]"
                  style={{ width: `${Math.round(progress * 100)}%` }}
                />
              </div>
              <span className="w-20 text-xs text-muted tabular-nums">
                {progress < 1 ? `${Math.round(progress * 100)}%` : 'Processing…'}
              </span>
            </div>
          )}
        </div>
        {error !== null && <ErrorPanel error={error} title="The import failed" />}
        {report?.kind === 'upsert' && <UpsertReportView report={report.r} />}
        {report?.kind === 'import' && (
          <section
            aria-label="Import report"
            className="rounded-md border border-border bg-surface-2 p-3 text-sm"
          >
            <p className="font-medium">{report.r.message}</p>
            <p className="mt-1 text-muted">
              {report.r.rowsImported} row{report.r.rowsImported === 1 ? '' : 's'} ·{' '}
              {report.r.format} · {formatBytes(report.r.fileSize)}
              {report.r.tables.length > 0 && ` · ${report.r.tables.join(', ')}`}
            </p>
          </section>
        )}
      </div>
    </Card>
  );
}

function UpsertReportView({ report }: { report: UpsertReport }) {
  return (
    <section
      aria-label="Import report"
      className="flex flex-col gap-3 rounded-md border border-border bg-surface-2 p-3 text-sm"
    >
      <p className="font-medium">{report.message}</p>
      <dl className="flex flex-wrap gap-x-6 gap-y-1">
        {(
          [
            ['Rows', report.totalRecords],
            ['Inserted', report.inserted],
            ['Updated', report.updated],
            ['Failed', report.failed],
          ] as const
        ).map(([k, v]) => (
          <div key={k} className="flex items-baseline gap-1.5">
            <dt className="text-muted">{k}</dt>
            <dd
              className={`font-semibold tabular-nums ${k === 'Failed' && v > 0 ? 'text-danger' : ''}`}
            >
              {v}
            </dd>
          </div>
        ))}
      </dl>
      {report.errors.length > 0 && (
        <div
          className="max-h-64 overflow-auto rounded border border-border bg-surface"
          tabIndex={0}
        >
          <table className="w-full text-xs" aria-label="Refused rows">
            <thead className="sticky top-0 bg-surface-2 text-left text-muted">
              <tr>
                <th scope="col" className="w-24 px-3 py-1.5">
                  Data row
                </th>
                <th scope="col" className="px-3 py-1.5">
                  Why
                </th>
              </tr>
            </thead>
            <tbody>
              {report.errors.map((e) => (
                <tr key={e.row} className="border-t border-border">
                  <td className="px-3 py-1.5 tabular-nums">{e.row}</td>
                  <td className="px-3 py-1.5 break-words">{e.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {report.failed > report.errors.length && (
            <p className="px-3 py-1.5 text-muted">
              and {report.failed - report.errors.length} more
            </p>
          )}
        </div>
      )}
    </section>
  );
}

function ExportPanel() {
  const tables = useTableNames();
  const [picked, setPicked] = useState<string[] | null>(null);
  const [format, setFormat] = useState<'sql' | 'json'>('sql');
  const [includeSchema, setIncludeSchema] = useState(true);
  const [includeData, setIncludeData] = useState(true);
  const exporter = useExport();
  const chosen = picked ?? tables;
  const publicOnly = chosen.filter((t) => !t.includes('.'));
  return (
    <Card>
      <div className="flex flex-col gap-4">
        <fieldset>
          <legend className="mb-1.5 flex items-center gap-3 text-sm font-medium">
            Tables
            <Button
              variant="link"
              size="sm"
              className="text-xs"
              onClick={() => setPicked(chosen.length === tables.length ? [] : null)}
            >
              {chosen.length === tables.length ? 'Select none' : 'Select all'}
            </Button>
          </legend>
          {tables.length === 0 ? (
            <p className="text-sm text-muted">No tables yet.</p>
          ) : (
            <div className="grid max-h-56 grid-cols-3 gap-1.5 overflow-auto">
              {tables.map((t) => (
                <label key={t} className="flex min-w-0 items-center gap-2 text-sm">
                  <Checkbox
                    checked={chosen.includes(t)}
                    onCheckedChange={(v) =>
                      setPicked(v === true ? [...chosen, t] : chosen.filter((x) => x !== t))
                    }
                  />
                  <span className="truncate">{t}</span>
                </label>
              ))}
            </div>
          )}
        </fieldset>
        <div className="flex flex-wrap items-end gap-6">
          <FormField label="Format">
            <Select
              className="w-40"
              value={format}
              onValueChange={(v) => setFormat(v as 'sql' | 'json')}
              options={[
                { value: 'sql', label: 'SQL' },
                { value: 'json', label: 'JSON' },
              ]}
            />
          </FormField>
          <label className="flex items-center gap-2 pb-1.5 text-sm">
            <Checkbox
              checked={includeSchema}
              onCheckedChange={(v) => setIncludeSchema(v === true)}
            />
            Schema
          </label>
          <label className="flex items-center gap-2 pb-1.5 text-sm">
            <Checkbox checked={includeData} onCheckedChange={(v) => setIncludeData(v === true)} />
            Data
          </label>
        </div>
        <div>
          <Button
            onClick={() =>
              exporter.mutate({
                tables: picked === null ? undefined : publicOnly,
                format,
                includeSchema,
                includeData,
              })
            }
            loading={exporter.isPending}
            disabled={chosen.length === 0 || (!includeSchema && !includeData)}
          >
            <Download aria-hidden /> Download export
          </Button>
        </div>
      </div>
    </Card>
  );
}
