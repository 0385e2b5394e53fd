/**
 * PLACEHOLDER page of the Advisor area, to be replaced by the helper building it. Keep the export
 * (`Route = createLazyRoute('/app/advisor')`); the route itself (path, search params, crumb) is declared
 * in src/router.tsx and the area's URL state in ./search.ts. Hooks go in ./hooks.ts, components
 * come from src/ui/ (see frontend/README.md).
 */
import { createLazyRoute } from '@tanstack/react-router';
import { Construction } from 'lucide-react';
import { Card, EmptyState, PageHeader } from '../../ui/misc';

export const Route = createLazyRoute('/app/advisor')({ component: AdvisorPage });

function AdvisorPage() {
  return (
    <>
      <PageHeader
        title="Advisor"
        description="Findings about security and performance, each with a fix."
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
