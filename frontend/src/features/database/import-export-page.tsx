/**
 * PLACEHOLDER: the import and export page (route /app/database/import-export, URL state in ./search.ts, declared in
 * src/router.tsx). Replaced by the helper building it (head it with ./section-header.tsx: the
 * area's h1 is above the sub-navigation); keep the export
 * `Route = createLazyRoute('/app/database/import-export')`.
 */
import { createLazyRoute } from '@tanstack/react-router';
import { ComingSoon } from './coming-soon';

export const Route = createLazyRoute('/app/database/import-export')({ component: Page });

function Page() {
  return (
    <ComingSoon
      title="Import & export"
      description="Import CSV, JSON or SQL into a table; export tables."
    />
  );
}
