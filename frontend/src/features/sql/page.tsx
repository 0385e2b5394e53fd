/**
 * PLACEHOLDER page of the SQL editor area, to be replaced by the helper building it. Keep the export
 * (`Route = createLazyRoute('/app/sql')`); the route itself (path, search params, crumb) is declared
 * in src/router.tsx and the area's URL state in ./search.ts. Hooks go in ./hooks.ts, components
 * come from src/ui/ (see frontend/README.md).
 */
import { createLazyRoute } from '@tanstack/react-router';
import { Construction } from 'lucide-react';
import { Card, EmptyState, PageHeader } from '../../ui/misc';

export const Route = createLazyRoute('/app/sql')({ component: SqlPage });

function SqlPage() {
  return (
    <>
      <PageHeader
        title="SQL editor"
        description="Run SQL against the project database, keep snippets and history."
      />
      <Card>
        <EmptyState
          icon={Construction}
          title="Coming soon"
          description="This area of the dashboard is being built. Meanwhile the same operations are available through the API (see /api/docs)."
        />
      </Card>
    </>
  );
}
