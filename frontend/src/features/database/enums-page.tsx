/**
 * PLACEHOLDER: the Database area's enums page (route /app/database/enums, URL state in ./search.ts, declared in
 * src/router.tsx). Replaced by the helper building it (head it with ./section-header.tsx: the
 * area's h1 is above the sub-navigation); keep the export
 * `Route = createLazyRoute('/app/database/enums')`.
 */
import { createLazyRoute } from '@tanstack/react-router';
import { ComingSoon } from './coming-soon';

export const Route = createLazyRoute('/app/database/enums')({ component: Page });

function Page() {
  return <ComingSoon title="Enums" description="Enumerated types and their values." />;
}
