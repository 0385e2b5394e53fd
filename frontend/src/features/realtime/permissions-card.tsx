/**
 * Who may subscribe and publish: the row-level security policies of realtime.channels (SELECT:
 * subscribe) and realtime.messages (INSERT: publish), read-only; admins and the API key pass
 * regardless.
 */
import { ShieldCheck } from 'lucide-react';
import type { z } from 'zod';
import type { realtimePolicySchema } from '@kiln/shared-schemas';
import { ErrorPanel } from '../../ui/error-panel';
import { Badge, Card, Skeleton } from '../../ui/misc';
import { useRealtimePermissions } from './hooks';

type Policy = z.infer<typeof realtimePolicySchema>;

function PolicyList({ title, policies }: { title: string; policies: Policy[] }) {
  return (
    <div className="min-w-0">
      <h3 className="mb-2 text-sm font-semibold">{title}</h3>
      {policies.length === 0 ? (
        <p className="text-sm text-muted">No policy: only admins and the API key.</p>
      ) : (
        <ul className="flex flex-col gap-2" aria-label={title}>
          {policies.map((p) => (
            <li
              key={`${p.tableName}.${p.policyName}`}
              className="rounded-md border border-border px-3 py-2"
            >
              <div className="flex flex-wrap items-center gap-1.5 text-xs">
                <span className="font-mono font-medium">{p.policyName}</span>
                <span className="text-muted">on realtime.{p.tableName}</span>
                <Badge>{p.command}</Badge>
                {p.roles.map((r) => (
                  <Badge key={r} tone="info">
                    {r}
                  </Badge>
                ))}
              </div>
              {(p.using ?? p.withCheck) && (
                <code className="mt-1.5 block font-mono text-xs break-all text-muted">
                  {p.using ? `USING ${p.using}` : ''}
                  {p.using && p.withCheck ? ' ' : ''}
                  {p.withCheck ? `WITH CHECK ${p.withCheck}` : ''}
                </code>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function PermissionsCard() {
  const permissions = useRealtimePermissions();
  return (
    <Card
      title={
        <span className="inline-flex items-center gap-1.5">
          <ShieldCheck className="size-4 text-muted" aria-hidden /> Who may subscribe and publish
        </span>
      }
      description="Row-level security decides: subscribing selects the matching channel row, publishing inserts the message, both as the client's role. Change the policies with SQL."
    >
      {permissions.error ? (
        <ErrorPanel error={permissions.error} onRetry={() => void permissions.refetch()} />
      ) : !permissions.data ? (
        <Skeleton className="h-24 w-full" />
      ) : (
        <div className="grid gap-6 lg:grid-cols-2">
          <PolicyList title="Subscribe" policies={permissions.data.subscribe.policies} />
          <PolicyList title="Publish" policies={permissions.data.publish.policies} />
        </div>
      )}
    </Card>
  );
}
