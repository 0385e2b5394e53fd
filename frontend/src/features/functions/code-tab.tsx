/**
 * The function's code: the TypeScript editor (lazy), Save and deploy (Mod-S) with its steps, and
 * Deno's diagnostics when the code does not load, at their line in the editor and listed beside
 * it (each moves the cursor there).
 */
import { lazy, Suspense, useCallback, useMemo, useRef, useState } from 'react';
import {
  AlertCircle,
  CheckCircle2,
  Circle,
  Loader2,
  RotateCcw,
  Rocket,
  XCircle,
} from 'lucide-react';
import { cn } from '../../lib/cn';
import { Button } from '../../ui/button';
import { Card, Kbd, Skeleton } from '../../ui/misc';
import type { FunctionEditorHandle, LineDiagnostic } from './code-editor';
import { deploySteps, type FunctionDiagnostics, type StepState, useSaveAndDeploy } from './hooks';

const FunctionEditor = lazy(() => import('./code-editor'));

const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);

/** The line shown in the editor: the message's first line, with the error's name. */
export function headline(d: FunctionDiagnostics): string {
  const first = d.message.split('\n', 1)[0]!.trim();
  return /^\w*Error\b/.test(first) ? first : `${d.name}: ${first}`;
}

export function CodeTab({ slug, savedCode }: { slug: string; savedCode: string }) {
  const [code, setCode] = useState(savedCode);
  const [base, setBase] = useState(savedCode);
  const deploy = useSaveAndDeploy(slug);
  const editor = useRef<FunctionEditorHandle | null>(null);
  const onReady = useCallback((h: FunctionEditorHandle | null) => {
    editor.current = h;
  }, []);
  const dirty = code !== base;
  const diagnostics = deploy.diagnostics;
  const marks = useMemo<LineDiagnostic[]>(
    () =>
      diagnostics?.line
        ? [
            {
              line: diagnostics.line,
              column: diagnostics.column ?? 1,
              message: headline(diagnostics),
            },
          ]
        : [],
    [diagnostics],
  );

  const save = () => {
    if (deploy.isPending) return;
    const sent = code;
    deploy.mutate(sent, { onSuccess: () => setBase(sent) });
  };

  return (
    <div className="grid min-w-0 gap-3 xl:grid-cols-[minmax(0,1fr)_19rem]">
      <div className="flex min-w-0 flex-col gap-2">
        <div className="flex flex-wrap items-center gap-2">
          <span className="text-sm text-muted" aria-live="polite">
            {dirty ? 'Unsaved changes' : 'Saved'}
          </span>
          <span className="hidden text-xs text-muted lg:inline">
            · <Kbd>{isMac ? '⌘' : 'Ctrl'}</Kbd> <Kbd>S</Kbd> saves and deploys
          </span>
          <div className="ml-auto flex items-center gap-2">
            <Button
              variant="outline"
              disabled={!dirty || deploy.isPending}
              onClick={() => setCode(base)}
            >
              <RotateCcw aria-hidden /> Revert
            </Button>
            <Button onClick={save} loading={deploy.isPending}>
              {!deploy.isPending && <Rocket aria-hidden />} Save and deploy
            </Button>
          </div>
        </div>
        <div className="rounded-lg border border-border bg-surface px-3 py-2 xl:hidden">
          <DeployProgress deploy={deploy} layout="row" />
        </div>
        <div className="h-[calc(100vh-19rem)] min-h-80 overflow-hidden rounded-lg border border-border">
          <Suspense fallback={<Skeleton className="h-full w-full rounded-none" />}>
            <FunctionEditor
              value={code}
              onChange={setCode}
              onSave={save}
              diagnostics={marks}
              onReady={onReady}
            />
          </Suspense>
        </div>
      </div>

      <div className="flex min-w-0 flex-col gap-3">
        <Card
          title="Deploy"
          description="Save and deploy runs these steps in order."
          className="hidden xl:block"
        >
          <DeployProgress deploy={deploy} layout="column" />
        </Card>
        {diagnostics && (
          <Card title="Diagnostics" description="From Deno, when it loaded the saved code.">
            <div role="alert" className="flex flex-col gap-2 text-sm">
              <div className="flex items-start gap-2">
                <AlertCircle className="mt-0.5 size-4 shrink-0 text-danger" aria-hidden />
                <p className="min-w-0 font-medium break-words">{headline(diagnostics)}</p>
              </div>
              {diagnostics.line ? (
                <Button
                  variant="link"
                  className="self-start text-sm"
                  onClick={() => editor.current?.goTo(diagnostics.line!, diagnostics.column ?? 1)}
                >
                  Go to line {diagnostics.line}, column {diagnostics.column ?? 1}
                </Button>
              ) : (
                <p className="text-xs text-muted">Deno gave no position in the code.</p>
              )}
              <pre
                tabIndex={0}
                aria-label="Deno’s full message"
                className="max-h-48 overflow-auto rounded-md bg-surface-2 p-2 font-mono text-xs whitespace-pre"
              >
                {diagnostics.message}
              </pre>
            </div>
          </Card>
        )}
      </div>
    </div>
  );
}

/** The steps with their state, and the outcome once the run is over. */
function DeployProgress({
  deploy,
  layout,
}: {
  deploy: ReturnType<typeof useSaveAndDeploy>;
  layout: 'row' | 'column';
}) {
  const started = deploy.steps.save !== 'idle';
  const row = layout === 'row';
  return (
    <div className={row ? 'flex flex-wrap items-center gap-x-6 gap-y-2' : undefined}>
      <ol
        aria-label="Deploy steps"
        className={row ? 'flex flex-wrap items-center gap-x-5 gap-y-1' : 'flex flex-col gap-3'}
      >
        {deploySteps.map((s) => (
          <li key={s.id} className="flex items-start gap-2">
            <StepIcon state={deploy.steps[s.id]} />
            <div className="min-w-0">
              <p className="text-sm font-medium">
                {s.label}
                <span className="sr-only">: {stateLabel[deploy.steps[s.id]]}</span>
              </p>
              {!row && <p className="text-xs text-muted">{s.detail}</p>}
            </div>
          </li>
        ))}
      </ol>
      {started && !deploy.isPending && (
        <p
          role="status"
          className={cn(
            'text-sm',
            deploy.isError ? 'text-danger' : 'text-success',
            !row && 'mt-3 border-t border-border pt-3',
          )}
        >
          {deploy.isSuccess
            ? `Version ${deploy.data.function.version} is live${deploy.runtime?.provider === 'local' ? ' on the local Deno runtime' : ''}.`
            : deploy.diagnostics
              ? 'Deno could not load the code: nothing was deployed.'
              : `Failed: ${deploy.error instanceof Error ? deploy.error.message : 'the request failed'}`}
        </p>
      )}
    </div>
  );
}

const stateLabel: Record<StepState, string> = {
  idle: 'not started',
  running: 'in progress',
  done: 'done',
  failed: 'failed',
};

function StepIcon({ state }: { state: StepState }) {
  const cls = 'mt-0.5 size-4 shrink-0';
  if (state === 'running')
    return <Loader2 className={`${cls} animate-spin text-primary`} aria-hidden />;
  if (state === 'done') return <CheckCircle2 className={`${cls} text-success`} aria-hidden />;
  if (state === 'failed') return <XCircle className={`${cls} text-danger`} aria-hidden />;
  return <Circle className={`${cls} text-muted`} aria-hidden />;
}
