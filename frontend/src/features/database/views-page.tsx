/**
 * PLACEHOLDER: the Database area's views page (route /app/database/views, URL state in ./search.ts, declared in
 * src/router.tsx). Replaced by the helper building it (head it with ./section-header.tsx: the
 * area's h1 is above the sub-navigation); keep the export
 * `Route = createLazyRoute('/app/database/views')`.
 */
import { createLazyRoute } from '@tanstack/react-router';
import { ComingSoon } from './coming-soon';

export const Route = createLazyRoute('/app/database/views')({ component: Page });

function Page() {
  return <ComingSoon title="Views" description="Views and materialized views." />;
}
