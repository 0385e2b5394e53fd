/**
 * The Database area's frame (/database): its heading and sub-navigation (tables, functions,
 * views, enums, extensions, diagram, migrations, import and export; each a child route declared
 * in src/router.tsx) above the child's page (headed by ./section-header.tsx, an h2), and one palette
 * entry per table.
 */
import { createLazyRoute, Link, Outlet, useMatchRoute } from '@tanstack/react-router';
import { useTablePaletteCommands } from './hooks';

export const Route = createLazyRoute('/app/database')({ component: DatabaseLayout });

const sections = [
  { to: '/database/functions', label: 'Functions' },
  { to: '/database/views', label: 'Views' },
  { to: '/database/enums', label: 'Enums' },
  { to: '/database/extensions', label: 'Extensions' },
  { to: '/database/diagram', label: 'Diagram' },
  { to: '/database/migrations', label: 'Migrations' },
  { to: '/database/import-export', label: 'Import & export' },
] as const;

const linkClass =
  '-mb-px block border-b-2 border-transparent px-3 py-2 text-sm font-medium text-muted hover:text-fg data-[status=active]:border-primary data-[status=active]:text-fg';

function DatabaseLayout() {
  useTablePaletteCommands();
  const matchRoute = useMatchRoute();
  // "Tables" covers the list and every table's editor.
  const onTables =
    !!matchRoute({ to: '/database' }) || !!matchRoute({ to: '/database/tables/$table' });
  return (
    <div className="flex min-w-0 flex-col gap-5">
      <div>
        <h1 className="text-xl font-semibold tracking-tight">Database</h1>
        <nav aria-label="Database" className="mt-2 overflow-x-auto border-b border-border">
          <ul className="flex min-w-max items-center gap-1">
            <li>
              <Link
                to="/database"
                data-status={onTables ? 'active' : undefined}
                aria-current={onTables ? 'page' : undefined}
                activeOptions={{ exact: true, includeSearch: false }}
                className={linkClass}
              >
                Tables
              </Link>
            </li>
            {sections.map((s) => (
              <li key={s.to}>
                <Link to={s.to} activeOptions={{ includeSearch: false }} className={linkClass}>
                  {s.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
      </div>
      <Outlet />
    </div>
  );
}
