/**
 * The table editor's policies tab: the RLS switch, the table's policies (command, roles, USING,
 * WITH CHECK) and a form to create one from a template (owner only, public read, authenticated
 * read, custom) or edit one; deleting asks first.
 */
import { useMemo, useState } from 'react';
import { Pencil, Plus, ShieldCheck, Trash2 } from 'lucide-react';
import { Button } from '../../ui/button';
import { Checkbox, Switch } from '../../ui/checkbox';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { ConfirmDialog, Dialog, DialogContent } from '../../ui/dialog';
import { ErrorPanel } from '../../ui/error-panel';
import { FormField } from '../../ui/form-field';
import { Input, Textarea } from '../../ui/input';
import { Badge, Card } from '../../ui/misc';
import { Select } from '../../ui/select';
import { useTableDescription } from './hooks';
import {
  useAlterPolicy,
  useAlterTable,
  useCatalog,
  useCreatePolicy,
  useDropPolicy,
  type PolicyInfo,
} from './schema-hooks';
import { fieldErrors } from './table-form';
import type { TableTabProps } from './types';

const COMMANDS = ['ALL', 'SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;
type Command = (typeof COMMANDS)[number];
const ROLES = ['anon', 'authenticated', 'public'] as const;
type Role = (typeof ROLES)[number];

export type PolicyTemplate = 'owner' | 'public-read' | 'authenticated-read' | 'custom';

export const TEMPLATES: { value: PolicyTemplate; label: string; hint: string }[] = [
  {
    value: 'owner',
    label: 'Owner only',
    hint: 'Signed-in users read and write only the rows whose owner column holds their id.',
  },
  { value: 'public-read', label: 'Public read', hint: 'Anyone, signed in or not, may read rows.' },
  {
    value: 'authenticated-read',
    label: 'Authenticated read',
    hint: 'Signed-in users may read every row.',
  },
  { value: 'custom', label: 'Custom', hint: 'Write the conditions yourself.' },
];

interface PolicyDraft {
  name: string;
  command: Command;
  roles: Role[];
  using: string;
  withCheck: string;
}

/** What a template fills in; the fields stay editable. */
export function templateDraft(t: PolicyTemplate, table: string, ownerColumn: string): PolicyDraft {
  switch (t) {
    case 'owner': {
      // `(SELECT auth.uid())` is evaluated once per statement, not per row (the advisor's rule).
      const cond = `(SELECT auth.uid()) = "${ownerColumn}"`;
      return {
        name: `${table}_owner_only`,
        command: 'ALL',
        roles: ['authenticated'],
        using: cond,
        withCheck: cond,
      };
    }
    case 'public-read':
      return {
        name: `${table}_public_read`,
        command: 'SELECT',
        roles: ['anon', 'authenticated'],
        using: 'true',
        withCheck: '',
      };
    case 'authenticated-read':
      return {
        name: `${table}_authenticated_read`,
        command: 'SELECT',
        roles: ['authenticated'],
        using: 'true',
        withCheck: '',
      };
    default:
      return {
        name: `${table}_policy`,
        command: 'ALL',
        roles: ['authenticated'],
        using: '',
        withCheck: '',
      };
  }
}

function Code({ value }: { value: string | null }) {
  if (!value) return <span className="text-muted">—</span>;
  return (
    <code className="block truncate font-mono text-xs" title={value}>
      {value}
    </code>
  );
}

export function PoliciesTab({ schema, table }: TableTabProps) {
  const described = useTableDescription(schema, table);
  const policies = useCatalog('policies', { schema, table });
  const rls = useAlterTable(table, schema, 'Changing row-level security…');
  const [editing, setEditing] = useState<PolicyInfo | 'new' | null>(null);
  const [deleting, setDeleting] = useState<PolicyInfo | null>(null);
  const drop = useDropPolicy(table, schema);
  const isTable =
    !described.data ||
    described.data.kind === 'table' ||
    described.data.kind === 'partitioned_table';

  const columns = useMemo<ColumnDef<PolicyInfo, unknown>[]>(
    () => [
      {
        id: 'name',
        header: 'Name',
        cell: ({ row: { original: p } }) => (
          <span className="font-medium">
            {p.policyName}
            {!p.permissive && (
              <Badge tone="warning" className="ml-2">
                restrictive
              </Badge>
            )}
          </span>
        ),
      },
      { id: 'cmd', header: 'Command', cell: ({ row }) => <Badge>{row.original.cmd}</Badge> },
      {
        id: 'roles',
        header: 'Roles',
        cell: ({ row }) => (
          <span className="flex flex-wrap gap-1">
            {row.original.roles.map((r) => (
              <Badge key={r} tone="primary">
                {r}
              </Badge>
            ))}
          </span>
        ),
      },
      { id: 'using', header: 'Using', cell: ({ row }) => <Code value={row.original.qual} /> },
      {
        id: 'check',
        header: 'With check',
        cell: ({ row }) => <Code value={row.original.withCheck} />,
      },
      {
        id: 'actions',
        header: () => <span className="sr-only">Actions</span>,
        size: 80,
        cell: ({ row: { original: p } }) => (
          <span className="flex justify-end gap-1">
            <Button
              variant="ghost"
              size="icon-sm"
              aria-label={`Edit policy ${p.policyName}`}
              onClick={() => setEditing(p)}
            >
              <Pencil aria-hidden />
            </Button>
            <Button
              variant="ghost"
              size="icon-sm"
              aria-label={`Delete policy ${p.policyName}`}
              onClick={() => setDeleting(p)}
            >
              <Trash2 aria-hidden />
            </Button>
          </span>
        ),
      },
    ],
    [],
  );

  return (
    <div className="flex flex-col gap-4">
      {described.data && isTable && (
        <Card>
          <label className="flex items-center gap-3 text-sm">
            <Switch
              checked={described.data.rlsEnabled}
              disabled={rls.isPending}
              onCheckedChange={(v) => rls.mutate({ rlsEnabled: v })}
            />
            <span>
              <span className="font-medium">Row-level security </span>
              {described.data.rlsEnabled ? (
                <span className="text-muted">
                  is on: the API returns only the rows these policies allow
                  {policies.data?.length === 0 && ' (no policy yet: only admins see rows)'}.
                </span>
              ) : (
                <span className="text-danger">
                  is off: policies are ignored and anyone with the anon key can read and change
                  every row.
                </span>
              )}
            </span>
          </label>
        </Card>
      )}
      <div className="flex items-center justify-between gap-2">
        <h3 className="text-sm font-semibold">Policies</h3>
        {isTable && (
          <Button size="sm" onClick={() => setEditing('new')}>
            <Plus aria-hidden /> New policy
          </Button>
        )}
      </div>
      <DataTable
        label="Policies"
        columns={columns}
        data={policies.data}
        isLoading={policies.isLoading}
        error={policies.error}
        onRetry={() => void policies.refetch()}
        getRowId={(p) => p.policyName}
        empty={{
          icon: ShieldCheck,
          title: 'No policies',
          description: 'Create one from a template: owner only, public read or authenticated read.',
        }}
      />
      {editing && (
        <PolicyDialog
          schema={schema}
          table={table}
          columns={described.data?.columns ?? []}
          policy={editing === 'new' ? undefined : editing}
          onClose={() => setEditing(null)}
        />
      )}
      <ConfirmDialog
        open={deleting !== null}
        onOpenChange={(o) => !o && setDeleting(null)}
        title={`Delete policy ${deleting?.policyName ?? ''}?`}
        description="Requests it allowed will be refused (or see fewer rows) right away."
        confirmLabel="Delete policy"
        destructive
        onConfirm={() => drop.mutateAsync(deleting!.policyName)}
      />
    </div>
  );
}

function PolicyDialog({
  schema,
  table,
  columns,
  policy,
  onClose,
}: {
  schema: string;
  table: string;
  columns: { columnName: string; type: string }[];
  policy?: PolicyInfo;
  onClose: () => void;
}) {
  // The owner column: a uuid column, preferring the usual names.
  const uuidColumns = columns.filter((c) => c.type === 'uuid' && c.columnName !== 'id');
  const guess =
    uuidColumns.find((c) => /^(user_id|owner_id|owner|author_id|created_by)$/.test(c.columnName))
      ?.columnName ??
    uuidColumns[0]?.columnName ??
    columns[0]?.columnName ??
    '';
  const [template, setTemplate] = useState<PolicyTemplate>(policy ? 'custom' : 'owner');
  const [owner, setOwner] = useState(guess);
  const [draft, setDraft] = useState<PolicyDraft>(() =>
    policy
      ? {
          name: policy.policyName,
          command: (COMMANDS as readonly string[]).includes(policy.cmd)
            ? (policy.cmd as Command)
            : 'ALL',
          roles: policy.roles.filter((r): r is Role => (ROLES as readonly string[]).includes(r)),
          using: policy.qual ?? '',
          withCheck: policy.withCheck ?? '',
        }
      : templateDraft('owner', table, guess),
  );
  const create = useCreatePolicy();
  const alter = useAlterPolicy(table, schema);
  const mutation = policy ? alter : create;
  const errors = fieldErrors(mutation.error);
  const set = (patch: Partial<PolicyDraft>) => setDraft((d) => ({ ...d, ...patch }));
  const pick = (t: PolicyTemplate, col = owner) => {
    setTemplate(t);
    setDraft(templateDraft(t, table, col));
  };
  const usesCheck =
    draft.command === 'ALL' || draft.command === 'INSERT' || draft.command === 'UPDATE';
  const usesUsing = draft.command !== 'INSERT';

  const submit = () => {
    const roles = draft.roles.length ? draft.roles : (['public'] as Role[]);
    if (policy) {
      alter.mutate(
        {
          policy: policy.policyName,
          body: {
            newPolicyName: draft.name !== policy.policyName ? draft.name : undefined,
            roles,
            using: usesUsing && draft.using ? draft.using : undefined,
            withCheck: usesCheck && draft.withCheck ? draft.withCheck : undefined,
          },
        },
        { onSuccess: onClose },
      );
    } else {
      create.mutate(
        {
          tableName: table,
          schemaName: schema === 'public' ? undefined : schema,
          policyName: draft.name,
          command: draft.command,
          roles,
          using: usesUsing && draft.using ? draft.using : undefined,
          withCheck: usesCheck && draft.withCheck ? draft.withCheck : undefined,
        },
        { onSuccess: onClose },
      );
    }
  };

  return (
    <Dialog open onOpenChange={(o) => !o && !mutation.isPending && onClose()}>
      <DialogContent
        size="lg"
        title={policy ? `Edit policy ${policy.policyName}` : 'New policy'}
        description={`On ${schema}.${table}`}
        footer={
          <>
            <Button variant="outline" onClick={onClose} disabled={mutation.isPending}>
              Cancel
            </Button>
            <Button onClick={submit} loading={mutation.isPending} disabled={!draft.name.trim()}>
              {policy ? 'Save policy' : 'Create policy'}
            </Button>
          </>
        }
      >
        <form
          className="flex flex-col gap-4"
          onSubmit={(e) => {
            e.preventDefault();
            submit();
          }}
        >
          {!policy && (
            <fieldset>
              <legend className="mb-2 text-sm font-medium">Template</legend>
              <div className="grid grid-cols-2 gap-2">
                {TEMPLATES.map((t) => (
                  <label
                    key={t.value}
                    className={`flex cursor-pointer flex-col gap-0.5 rounded-md border p-2.5 text-sm ${template === t.value ? 'border-primary bg-accent' : 'border-border hover:bg-surface-2'}`}
                  >
                    <span className="flex items-center gap-2 font-medium">
                      <input
                        type="radio"
                        name="policy-template"
                        value={t.value}
                        checked={template === t.value}
                        onChange={() => pick(t.value)}
                        className="accent-[var(--kiln-primary)]"
                      />
                      {t.label}
                    </span>
                    <span className="text-xs text-muted">{t.hint}</span>
                  </label>
                ))}
              </div>
            </fieldset>
          )}
          {!policy && template === 'owner' && (
            <FormField
              label="Owner column"
              hint="The column holding the owner's user id (auth.uid())."
            >
              <Select
                value={owner}
                onValueChange={(v) => {
                  setOwner(v);
                  pick('owner', v);
                }}
                options={columns.map((c) => ({
                  value: c.columnName,
                  label: `${c.columnName} (${c.type})`,
                }))}
              />
            </FormField>
          )}
          <div className="grid grid-cols-2 gap-4">
            <FormField
              label="Name"
              error={errors.byField.policyName ?? errors.byField.newPolicyName}
            >
              <Input
                value={draft.name}
                onChange={(e) => set({ name: e.target.value })}
                spellCheck={false}
              />
            </FormField>
            <FormField
              label="Command"
              error={errors.byField.command}
              hint={policy ? 'A policy’s command cannot change: create another.' : undefined}
            >
              <Select
                value={draft.command}
                disabled={Boolean(policy)}
                onValueChange={(v) => set({ command: v as Command })}
                options={COMMANDS.map((c) => ({ value: c, label: c }))}
              />
            </FormField>
          </div>
          <fieldset>
            <legend className="mb-1.5 text-sm font-medium">Roles</legend>
            <div className="flex gap-4">
              {ROLES.map((r) => (
                <label key={r} className="flex items-center gap-1.5 text-sm">
                  <Checkbox
                    checked={draft.roles.includes(r)}
                    onCheckedChange={(v) =>
                      set({
                        roles:
                          v === true ? [...draft.roles, r] : draft.roles.filter((x) => x !== r),
                      })
                    }
                  />
                  {r}
                </label>
              ))}
            </div>
            {errors.byField.roles && (
              <p role="alert" className="mt-1 text-xs font-medium text-danger">
                {errors.byField.roles}
              </p>
            )}
          </fieldset>
          {usesUsing && (
            <FormField
              label="Using (which existing rows)"
              error={errors.byField.using}
              hint="A boolean SQL expression, e.g. (SELECT auth.uid()) = user_id"
            >
              <Textarea
                className="font-mono text-xs"
                value={draft.using}
                onChange={(e) => set({ using: e.target.value })}
                spellCheck={false}
              />
            </FormField>
          )}
          {usesCheck && (
            <FormField
              label="With check (which new rows)"
              error={errors.byField.withCheck}
              hint="Checked on insert and update; empty: the USING expression."
            >
              <Textarea
                className="font-mono text-xs"
                value={draft.withCheck}
                onChange={(e) => set({ withCheck: e.target.value })}
                spellCheck={false}
              />
            </FormField>
          )}
          {errors.general && (
            <ErrorPanel error={mutation.error} title={policy ? 'Not saved' : 'Not created'} />
          )}
        </form>
      </DialogContent>
    </Dialog>
  );
}

export default PoliciesTab;
