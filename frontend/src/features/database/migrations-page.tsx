/**
 * PLACEHOLDER: the migrations page (route /app/database/migrations, URL state in ./search.ts, declared in
 * src/router.tsx). Replaced by the helper building it (head it with ./section-header.tsx: the
 * area's h1 is above the sub-navigation); keep the export
 * `Route = createLazyRoute('/app/database/migrations')`.
 */
import { createLazyRoute } from '@tanstack/react-router';
import { ComingSoon } from './coming-soon';

export const Route = createLazyRoute('/app/database/migrations')({ component: Page });

function Page() {
  return (
    <ComingSoon
      title="Migrations"
      description="Applied and pending migrations, with a dry-run diff."
    />
  );
}
