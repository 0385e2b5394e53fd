/**
 * One function: its name, endpoint, status, version and last deploy, and three views (in the
 * URL): the code with save and deploy, the test panel, the live log.
 */
import { useState } from 'react';
import { getRouteApi, Link } from '@tanstack/react-router';
import { ArrowLeft, Code2, FlaskConical, ScrollText, Trash2 } from 'lucide-react';
import { apiOrigin, isApiError } from '../../lib/api';
import { formatDateTime, formatRelative } from '../../lib/format';
import { Button } from '../../ui/button';
import { CopyButton } from '../../ui/copy-button';
import { ConfirmDialog } from '../../ui/dialog';
import { ErrorPanel } from '../../ui/error-panel';
import { EmptyState, Skeleton } from '../../ui/misc';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '../../ui/tabs';
import { CodeTab } from './code-tab';
import { lastDeploy, StatusBadge } from './function-status';
import { useDeleteFunction, useFunction } from './hooks';
import { LogsTab } from './logs-tab';
import type { FunctionView } from './search';
import { TestTab } from './test-tab';

const route = getRouteApi('/app/functions');

export function FunctionDetail({ slug }: { slug: string }) {
  const { view = 'code' } = route.useSearch();
  const navigate = route.useNavigate();
  const fn = useFunction(slug);
  const del = useDeleteFunction();
  const [deleting, setDeleting] = useState(false);
  const endpoint = `${apiOrigin}/functions/${slug}`;
  const deployedAt = fn.data ? lastDeploy(fn.data) : null;

  const back = (
    <Link
      to="/functions"
      className="inline-flex items-center gap-1 text-sm text-muted hover:text-fg"
    >
      <ArrowLeft className="size-4" aria-hidden />
      Functions
    </Link>
  );

  if (fn.error) {
    return (
      <div className="flex flex-col gap-4">
        {back}
        {isApiError(fn.error) && fn.error.status === 404 ? (
          <EmptyState
            title={`No function named ${slug}`}
            description="It may have been deleted. Go back to the list to pick or create one."
          />
        ) : (
          <ErrorPanel error={fn.error} onRetry={() => void fn.refetch()} />
        )}
      </div>
    );
  }

  return (
    <div className="flex min-w-0 flex-col gap-3">
      <div className="flex flex-wrap items-center gap-x-3 gap-y-2">
        {back}
        <h1 className="min-w-0 truncate text-lg font-semibold tracking-tight">
          {fn.data?.name ?? slug}
        </h1>
        {fn.data && <StatusBadge fn={fn.data} />}
        {fn.data && (
          <span className="text-sm text-muted tabular-nums">
            v{fn.data.version}
            {deployedAt && (
              <>
                {' · deployed '}
                <time dateTime={deployedAt} title={formatDateTime(deployedAt)}>
                  {formatRelative(deployedAt)}
                </time>
              </>
            )}
          </span>
        )}
        <div className="ml-auto flex items-center gap-1">
          <Button
            variant="ghost"
            size="sm"
            onClick={() => setDeleting(true)}
            aria-label={`Delete function ${slug}`}
          >
            <Trash2 aria-hidden /> Delete
          </Button>
        </div>
      </div>
      <div className="flex min-w-0 flex-wrap items-center gap-2 text-sm">
        <span className="text-muted">Endpoint</span>
        <code className="min-w-0 truncate rounded bg-surface-2 px-1.5 py-0.5 font-mono text-xs">
          {endpoint}
        </code>
        <CopyButton value={endpoint} label="the function's URL" />
        {fn.data?.description && (
          <span className="min-w-0 truncate text-muted">· {fn.data.description}</span>
        )}
      </div>

      <Tabs
        value={view}
        onValueChange={(v) =>
          void navigate({
            search: (s) => ({ ...s, view: v === 'code' ? undefined : (v as FunctionView) }),
          })
        }
      >
        <TabsList className="w-full">
          <TabsTrigger value="code" className="inline-flex items-center gap-1.5">
            <Code2 className="size-4" aria-hidden /> Code
          </TabsTrigger>
          <TabsTrigger value="test" className="inline-flex items-center gap-1.5">
            <FlaskConical className="size-4" aria-hidden /> Test
          </TabsTrigger>
          <TabsTrigger value="logs" className="inline-flex items-center gap-1.5">
            <ScrollText className="size-4" aria-hidden /> Logs
          </TabsTrigger>
        </TabsList>
        {/* Kept mounted: unsaved edits survive a look at the test panel or the log. */}
        <TabsContent value="code" forceMount className="data-[state=inactive]:hidden">
          {fn.data?.code !== undefined ? (
            <CodeTab key={slug} slug={slug} savedCode={fn.data.code} />
          ) : (
            <Skeleton className="h-96 w-full" />
          )}
        </TabsContent>
        <TabsContent value="test">
          <TestTab slug={slug} />
        </TabsContent>
        <TabsContent value="logs">
          <LogsTab slug={slug} />
        </TabsContent>
      </Tabs>

      <ConfirmDialog
        open={deleting}
        onOpenChange={setDeleting}
        title={`Delete function ${slug}?`}
        description={`/functions/${slug} stops answering and its code is gone. This cannot be undone.`}
        confirmLabel="Delete function"
        destructive
        typeToConfirm={slug}
        onConfirm={async () => {
          await del.mutateAsync(slug);
          void navigate({ search: {} });
        }}
      />
    </div>
  );
}
