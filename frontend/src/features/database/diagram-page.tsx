/**
 * PLACEHOLDER: the schema diagram (route /app/database/diagram, URL state in ./search.ts, declared in
 * src/router.tsx). Replaced by the helper building it (head it with ./section-header.tsx: the
 * area's h1 is above the sub-navigation); keep the export
 * `Route = createLazyRoute('/app/database/diagram')`.
 */
import { createLazyRoute } from '@tanstack/react-router';
import { ComingSoon } from './coming-soon';

export const Route = createLazyRoute('/app/database/diagram')({ component: Page });

function Page() {
  return <ComingSoon title="Diagram" description="Tables and their relationships." />;
}
