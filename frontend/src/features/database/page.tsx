/**
 * PLACEHOLDER page of the Database area, to be replaced by the helper building it. Keep the export
 * (`Route = createLazyRoute('/app/database')`); the route itself (path, search params, crumb) is declared
 * in src/router.tsx and the area's URL state in ./search.ts. Hooks go in ./hooks.ts, components
 * come from src/ui/ (see frontend/README.md).
 */
import { createLazyRoute } from '@tanstack/react-router';
import { Construction } from 'lucide-react';
import { Card, EmptyState, PageHeader } from '../../ui/misc';

export const Route = createLazyRoute('/app/database')({ component: DatabasePage });

function DatabasePage() {
  return (
    <>
      <PageHeader
        title="Database"
        description="Tables, rows, policies, indexes and the schema of your project."
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
