/** Shown when GET /api/health fails: the dashboard cannot work without its API. */
import { useState } from 'react';
import { createLazyRoute, useNavigate, useSearch } from '@tanstack/react-router';
import { PlugZap, RotateCw } from 'lucide-react';
import { apiReachable } from '../../lib/api';
import { Button } from '../../ui/button';

export const Route = createLazyRoute('/unreachable')({ component: UnreachablePage });

function UnreachablePage() {
  const search = useSearch({ from: '/unreachable' });
  const navigate = useNavigate();
  const [checking, setChecking] = useState(false);
  const [stillDown, setStillDown] = useState(false);
  const retry = async () => {
    setChecking(true);
    const ok = await apiReachable();
    setChecking(false);
    setStillDown(!ok);
    if (ok) {
      const to = search.redirect?.replace(/^\/dashboard(?=\/|$)/, '') || '/';
      await navigate({ to: to.startsWith('/') && !to.startsWith('//') ? to : '/' });
    }
  };
  return (
    <main className="grid min-h-full place-items-center bg-bg px-4 py-12">
      <div className="w-full max-w-md rounded-lg border border-border bg-surface p-8 text-center shadow-sm">
        <div className="mx-auto mb-4 grid size-12 place-items-center rounded-full bg-danger-soft text-danger">
          <PlugZap className="size-6" aria-hidden />
        </div>
        <h1 className="text-lg font-semibold">The Kiln API is not answering</h1>
        <p className="mt-2 text-sm text-muted">
          The dashboard could not reach <code className="font-mono text-fg">/api/health</code>.
          Check that the Kiln server is running and that its database is up (see the server&apos;s
          logs), then retry.
        </p>
        {stillDown && (
          <p role="status" className="mt-3 text-sm font-medium text-danger">
            Still unreachable.
          </p>
        )}
        <Button className="mt-6" onClick={() => void retry()} loading={checking}>
          <RotateCw aria-hidden /> Retry
        </Button>
      </div>
    </main>
  );
}
