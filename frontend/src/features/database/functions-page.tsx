/**
 * PLACEHOLDER: the Database area's functions page (route /app/database/functions, URL state in ./search.ts, declared in
 * src/router.tsx). Replaced by the helper building it (head it with ./section-header.tsx: the
 * area's h1 is above the sub-navigation); keep the export
 * `Route = createLazyRoute('/app/database/functions')`.
 */
import { createLazyRoute } from '@tanstack/react-router';
import { ComingSoon } from './coming-soon';

export const Route = createLazyRoute('/app/database/functions')({ component: Page });

function Page() {
  return (
    <ComingSoon
      title="Functions"
      description="Functions and procedures of the project's schemas."
    />
  );
}
