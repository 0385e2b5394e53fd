/** A function's status badge and the time its current version went live. */
import { Badge } from '../../ui/misc';
import type { EdgeFunction } from './hooks';

/**
 * When the current version went live: Deno Subhosting records its deployments; the local runtime
 * serves an active function's saved version from the save on (its next call starts it).
 */
export function lastDeploy(fn: EdgeFunction): string | null {
  if (fn.deployedAt) return fn.deployedAt;
  return fn.status === 'active' && !fn.deployment ? fn.updatedAt : null;
}

export function StatusBadge({ fn }: { fn: EdgeFunction }) {
  if (fn.status === 'draft') return <Badge tone="neutral">Draft</Badge>;
  const d = fn.deployment;
  if (d?.status === 'pending') return <Badge tone="warning">Deploying</Badge>;
  if (d?.status === 'failed') return <Badge tone="danger">Failed</Badge>;
  return <Badge tone="success">Active</Badge>;
}
