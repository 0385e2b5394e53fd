import { AlertTriangle, RotateCw } from 'lucide-react';
import { isApiError } from '../lib/api';
import { cn } from '../lib/cn';
import { Button } from './button';
import { CopyButton } from './copy-button';

/**
 * The one error surface: the API's message, its code and next step, and the request id to quote
 * (with a copy button). Any thrown value is accepted.
 */
export function ErrorPanel({
  error,
  title = 'Something went wrong',
  onRetry,
  className,
}: {
  error: unknown;
  title?: string;
  onRetry?: () => void;
  className?: string;
}) {
  const api = isApiError(error) ? error : undefined;
  const message = error instanceof Error ? error.message : String(error);
  const report = api
    ? `${api.code} (${api.status}): ${api.message}${api.requestId ? ` — request ${api.requestId}` : ''}`
    : message;
  return (
    <div
      role="alert"
      className={cn('rounded-lg border border-danger/40 bg-danger-soft p-4 text-sm', className)}
    >
      <div className="flex items-start gap-3">
        <AlertTriangle className="mt-0.5 size-4 shrink-0 text-danger" aria-hidden />
        <div className="min-w-0 flex-1">
          <p className="font-semibold text-fg">{title}</p>
          <p className="mt-1 break-words text-fg">{message}</p>
          {api?.nextActions && <p className="mt-1 text-muted">{api.nextActions}</p>}
          {api && (
            <dl className="mt-2 flex flex-wrap gap-x-4 gap-y-1 font-mono text-xs text-muted">
              <div>
                <dt className="inline">code </dt>
                <dd className="inline text-fg">{api.code}</dd>
              </div>
              {api.status > 0 && (
                <div>
                  <dt className="inline">status </dt>
                  <dd className="inline text-fg">{api.status}</dd>
                </div>
              )}
              {api.requestId && (
                <div className="min-w-0">
                  <dt className="inline">request </dt>
                  <dd className="inline break-all text-fg">{api.requestId}</dd>
                </div>
              )}
            </dl>
          )}
        </div>
        <div className="flex shrink-0 items-center gap-1">
          <CopyButton value={report} label="error details" />
          {onRetry && (
            <Button variant="outline" size="sm" onClick={onRetry}>
              <RotateCw aria-hidden /> Retry
            </Button>
          )}
        </div>
      </div>
    </div>
  );
}
