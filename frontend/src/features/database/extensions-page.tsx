/**
 * PLACEHOLDER: the Database area's extensions page (route /app/database/extensions, URL state in ./search.ts, declared in
 * src/router.tsx). Replaced by the helper building it (head it with ./section-header.tsx: the
 * area's h1 is above the sub-navigation); keep the export
 * `Route = createLazyRoute('/app/database/extensions')`.
 */
import { createLazyRoute } from '@tanstack/react-router';
import { ComingSoon } from './coming-soon';

export const Route = createLazyRoute('/app/database/extensions')({ component: Page });

function Page() {
  return (
    <ComingSoon title="Extensions" description="PostgreSQL extensions available and installed." />
  );
}
