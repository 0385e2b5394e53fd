/**
 * The project's URL and keys. Keys are shown masked (copy works without showing them); rotating
 * one asks first (how long the old key keeps working), then shows the new key once, in full,
 * with a copy button.
 */
import { useState } from 'react';
import { KeyRound, RefreshCw, TriangleAlert } from 'lucide-react';
import { formatDateTime } from '../../lib/format';
import { Button } from '../../ui/button';
import { CopyButton } from '../../ui/copy-button';
import { ConfirmDialog, Dialog, DialogContent } from '../../ui/dialog';
import { ErrorPanel } from '../../ui/error-panel';
import { FormField } from '../../ui/form-field';
import { Badge, Card, Skeleton } from '../../ui/misc';
import { Select } from '../../ui/select';
import { SourceBadge } from './source-badge';
import { useProjectKey, useRotateKey, useSettings, type KeyKind, type RotatedKey } from './hooks';

const HOUR = 3600;
const graceChoices = [
  { value: '0', label: 'Stops working at once' },
  { value: String(HOUR), label: 'Keeps working for 1 hour' },
  { value: String(24 * HOUR), label: 'Keeps working for 24 hours' },
  { value: String(7 * 24 * HOUR), label: 'Keeps working for 7 days' },
];

const labels: Record<KeyKind, { title: string; inText: string; hint: string }> = {
  anon: {
    title: 'Anon key',
    inText: 'anon key',
    hint: 'Public by design: apps and browsers use it; requests run as the anon role, under RLS.',
  },
  api: {
    title: 'API key',
    inText: 'API key',
    hint: 'Full admin access (bypasses RLS). Keep it on servers and in CI only.',
  },
};

function mask(key: string): string {
  const prefix = key.slice(0, key.indexOf('_') + 1);
  return `${prefix}${'•'.repeat(20)}${key.slice(-4)}`;
}

function ValueBox({ children, testId }: { children: React.ReactNode; testId?: string }) {
  return (
    <code
      className="flex h-8 min-w-0 flex-1 items-center rounded-md border border-border bg-surface-2 px-2.5 font-mono text-xs"
      data-testid={testId}
    >
      <span className="truncate">{children}</span>
    </code>
  );
}

function NewKeyDialog({
  kind,
  rotated,
  onClose,
}: {
  kind: KeyKind;
  rotated: RotatedKey | undefined;
  onClose: () => void;
}) {
  const { inText } = labels[kind];
  return (
    <Dialog open={rotated !== undefined} onOpenChange={(open) => !open && onClose()}>
      <DialogContent
        title={`New ${inText}`}
        description="Copy it now: from here on the dashboard shows it masked."
        footer={<Button onClick={onClose}>Done</Button>}
      >
        {rotated && (
          <div className="flex flex-col gap-3">
            <div className="flex items-center gap-1">
              <code
                className="min-w-0 flex-1 rounded-md border border-border bg-surface-2 px-2.5 py-2 font-mono text-xs break-all"
                data-testid={`new-${kind}-key`}
              >
                {rotated.key}
              </code>
              <CopyButton value={rotated.key} label={`the new ${inText}`} />
            </div>
            <p className="flex items-start gap-2 text-sm text-muted">
              <TriangleAlert className="mt-0.5 size-4 shrink-0 text-warning" aria-hidden />
              {rotated.previousKeyValidUntil &&
              Date.parse(rotated.previousKeyValidUntil) > Date.now() + 1000
                ? `The previous ${inText} keeps working until ${formatDateTime(rotated.previousKeyValidUntil)}. Switch your clients before then.`
                : `The previous ${inText} no longer works.`}
            </p>
          </div>
        )}
      </DialogContent>
    </Dialog>
  );
}

function KeyRow({ kind }: { kind: KeyKind }) {
  const key = useProjectKey(kind);
  const rotate = useRotateKey(kind);
  const [confirming, setConfirming] = useState(false);
  const [grace, setGrace] = useState(String(24 * HOUR));
  const [rotated, setRotated] = useState<RotatedKey | undefined>();
  const { title, inText, hint } = labels[kind];
  return (
    <div className="flex flex-col gap-1.5" data-testid={`settings-key-${kind}`}>
      <div className="flex items-center gap-2">
        <span className="text-sm font-medium">{title}</span>
        {kind === 'api' && <Badge tone="warning">secret</Badge>}
      </div>
      <div className="flex items-center gap-1">
        {key.isLoading ? (
          <Skeleton className="h-8 flex-1" />
        ) : (
          <ValueBox testId={`settings-key-${kind}-value`}>
            {key.data ? mask(key.data) : <span className="text-danger">unavailable</span>}
          </ValueBox>
        )}
        <CopyButton value={key.data ?? ''} label={`the ${inText}`} disabled={!key.data} />
        <Button
          variant="outline"
          size="sm"
          onClick={() => setConfirming(true)}
          disabled={!key.data}
        >
          <RefreshCw aria-hidden /> Rotate
        </Button>
      </div>
      <p className="text-xs text-muted">{hint}</p>
      {key.error && (
        <ErrorPanel
          error={key.error}
          title={`Could not load the ${inText}`}
          onRetry={() => void key.refetch()}
        />
      )}
      <ConfirmDialog
        open={confirming}
        onOpenChange={setConfirming}
        title={`Rotate the ${inText}?`}
        description={`A new ${inText} is issued and shown once. Clients still using the old one must switch before it stops working.`}
        confirmLabel={`Rotate ${inText}`}
        destructive
        onConfirm={async () => setRotated(await rotate.mutateAsync(Number(grace)))}
      >
        <FormField label="The old key">
          <Select value={grace} onValueChange={setGrace} options={graceChoices} />
        </FormField>
      </ConfirmDialog>
      <NewKeyDialog kind={kind} rotated={rotated} onClose={() => setRotated(undefined)} />
    </div>
  );
}

export function ProjectTab() {
  const settings = useSettings();
  const project = settings.data?.project;
  const baseUrl = settings.data?.environment.find((v) => v.name === 'API_BASE_URL');
  return (
    <div className="grid grid-cols-[minmax(0,3fr)_minmax(0,2fr)] gap-4 max-[1180px]:grid-cols-1">
      <Card
        title="Project URL and keys"
        description="Where clients connect, and the keys they present."
      >
        <div className="flex flex-col gap-5">
          <div className="flex flex-col gap-1.5">
            <div className="flex items-center gap-2">
              <span className="text-sm font-medium">Project URL</span>
              {baseUrl && <SourceBadge source={baseUrl.source} />}
            </div>
            <div className="flex items-center gap-1">
              {settings.isLoading ? (
                <Skeleton className="h-8 flex-1" />
              ) : (
                <ValueBox testId="settings-project-url">{project?.url ?? '—'}</ValueBox>
              )}
              <CopyButton value={project?.url ?? ''} label="the project URL" disabled={!project} />
            </div>
            <p className="text-xs text-muted">
              API_BASE_URL: the base of the links Kiln builds (storage URLs, emails, OAuth
              callbacks).
            </p>
            {settings.error && (
              <ErrorPanel
                error={settings.error}
                title="Could not load the settings"
                onRetry={() => void settings.refetch()}
              />
            )}
          </div>
          <KeyRow kind="anon" />
          <KeyRow kind="api" />
        </div>
      </Card>
      <Card title="About rotation" description="What happens when a key is rotated.">
        <ul className="flex flex-col gap-3 text-sm">
          <li className="flex gap-2">
            <KeyRound className="mt-0.5 size-4 shrink-0 text-primary" aria-hidden />
            <span>
              A new key is issued at once and shown in full once; copy it into your apps and
              servers.
            </span>
          </li>
          <li className="flex gap-2">
            <RefreshCw className="mt-0.5 size-4 shrink-0 text-primary" aria-hidden />
            <span>
              The old key keeps working for the grace period you choose, on every instance, then is
              refused. Choose “at once” when a key has leaked.
            </span>
          </li>
          <li className="flex gap-2">
            <TriangleAlert className="mt-0.5 size-4 shrink-0 text-warning" aria-hidden />
            <span>
              Edge functions get the new keys (ANON_KEY, API_KEY) when they next start or are
              deployed.
            </span>
          </li>
          {project && <li className="text-xs text-muted">Kiln {project.version}</li>}
        </ul>
      </Card>
    </div>
  );
}
