/**
 * The route tree (code-based). Each area is one lazy route: its path, typed search params
 * (every view's state lives in the URL) and breadcrumb are declared here, and its component is
 * loaded on first visit from features/<area>/page.tsx (`createLazyRoute(<id>)`).
 *
 *   /sign-in            features/session/sign-in-page.tsx   ?redirect=&expired=
 *   /unreachable        features/session/unreachable-page.tsx ?redirect=
 *   (app: needs the API and an admin session; renders the shell)
 *   /                   features/overview/page.tsx
 *   /database           features/database/page.tsx          (the area's heading and sub-navigation)
 *     /                 features/database/tables-page.tsx   ?schema=&q=   (also /database/tables)
 *     /tables/$table    features/database/table-page.tsx    ?schema=&tab=&sort=&filter=&page=&size=
 *     /functions, /views, /enums, /extensions, /diagram, /migrations, /import-export
 *                       features/database/<name>-page.tsx   (URL state: features/database/search.ts)
 *   /sql                features/sql/page.tsx               (placeholder)
 *   /auth               features/auth/page.tsx              (placeholder)
 *   /advisor            features/advisor/page.tsx           (placeholder)
 *   /storage            features/storage/page.tsx           ?bucket=&prefix=&search=&offset=&file=
 *   /logs               features/logs/page.tsx              ?tab=&source=&q=&level=&range=&line=&action=&actor=&arange=&offset=
 *   /settings           features/settings/page.tsx          ?tab=&q=&source=
 *   /functions          features/functions/page.tsx         ?tab=&fn=&view=&paused=
 *   /jobs               features/jobs/page.tsx              ?tab=&queue=&status=&offset=&schedule=&loffset=
 *   /ai                 features/ai/page.tsx                ?tab=&model=&days=&metric=&by=
 *   /realtime           features/realtime/page.tsx          ?tab=&channel=&mchannel=&event=&msg=&status=&message=&offset=
 *   /webhooks           features/webhooks/page.tsx          ?endpoint=&status=&offset=&delivery=
 *   /payments           features/payments/page.tsx          ?provider=&env=&tab=&offset=
 *   /backups            features/backups/page.tsx           ?restore=
 *
 * To add an area: declare its route below (validateSearch from features/<area>/search.ts), add it
 * to `routeTree`, and to the sidebar in app/nav.ts.
 */
import {
  createRootRoute,
  createRoute,
  createRouter,
  Outlet,
  redirect,
} from '@tanstack/react-router';
import {
  apiReachable,
  ensureSession,
  mayHaveSession,
  onApiUnreachable,
  onSessionExpired,
} from './lib/api';
import { queryClient } from './lib/query';
import { overviewSearch } from './features/overview/search';
import {
  catalogSearch,
  diagramSearch,
  importExportSearch,
  migrationsSearch,
  tableSearch,
  tablesSearch,
} from './features/database/search';
import { sqlSearch } from './features/sql/search';
import { authSearch } from './features/auth/search';
import { advisorSearch } from './features/advisor/search';
import { storageSearch } from './features/storage/search';
import { logsSearch } from './features/logs/search';
import { settingsSearch } from './features/settings/search';
import { functionsSearch } from './features/functions/search';
import { jobsSearch } from './features/jobs/search';
import { aiSearch } from './features/ai/search';
import { realtimeSearch } from './features/realtime/search';
import { webhooksSearch } from './features/webhooks/search';
import { paymentsSearch } from './features/payments/search';
import { backupsSearch } from './features/backups/search';
import { optionalString } from './lib/search';

declare module '@tanstack/react-router' {
  interface StaticDataRouteOption {
    /** The breadcrumb of this route. */
    crumb?: string;
    /**
     * Starts the code the route's loader will import (not its data, which needs the session):
     * called when the page's first load lands on this route, with the route chunks.
     */
    preloadCode?: (search: Record<string, unknown>) => void;
  }
}

export const rootRoute = createRootRoute({ component: Outlet });

const signInSearch = (s: Record<string, unknown>) => ({
  redirect: optionalString(s.redirect),
  expired: s.expired === true || s.expired === 'true' ? true : undefined,
});

export const signInRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/sign-in',
  validateSearch: signInSearch,
}).lazy(() => import('./features/session/sign-in-page').then((m) => m.Route));

export const unreachableRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/unreachable',
  validateSearch: (s: Record<string, unknown>) => ({ redirect: optionalString(s.redirect) }),
}).lazy(() => import('./features/session/unreachable-page').then((m) => m.Route));

/** Where the admin was going, as a dashboard path (kept through sign-in). */
function here(location: { pathname: string; searchStr: string }): string {
  return `${location.pathname}${location.searchStr}`;
}

/** Whether /api/health answered since the page loaded (checked once, not per navigation). */
let apiSeen = false;

/**
 * The health check and the session refresh of the page's first load, started when this module
 * loads (before React renders) and at once, not one after the other; appRoute's first
 * beforeLoad takes them, later navigations start their own.
 */
let bootChecks: { reachable: Promise<boolean>; session: Promise<boolean> } | undefined =
  /\/(sign-in|unreachable)\/?$/.test(window.location.pathname)
    ? undefined
    : { reachable: apiReachable(), session: ensureSession() };
// Settled by beforeLoad; this only keeps an early rejection from being reported as unhandled.
bootChecks?.session.catch(() => undefined);

/** Everything behind sign-in: checks that the API answers and that a session exists. */
export const appRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: 'app',
  beforeLoad: async ({ location }) => {
    const checks = bootChecks ?? {
      reachable: apiSeen ? Promise.resolve(true) : apiReachable(),
      session: ensureSession(),
    };
    bootChecks = undefined;
    // undefined: the refresh could not reach the API (unreachable, like a failed health check).
    const [reachable, signedIn] = await Promise.all([
      checks.reachable,
      checks.session.catch(() => undefined),
    ]);
    if (!reachable || signedIn === undefined) {
      throw redirect({ to: '/unreachable', search: { redirect: here(location) } });
    }
    apiSeen = true;
    if (!signedIn) {
      throw redirect({ to: '/sign-in', search: { redirect: here(location), expired: undefined } });
    }
  },
}).lazy(() => import('./app/shell').then((m) => m.Route));

export const overviewRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/',
  staticData: { crumb: 'Overview' },
  validateSearch: overviewSearch,
}).lazy(() => import('./features/overview/page').then((m) => m.Route));

// ---- Areas built by their own pages (replace each placeholder page.tsx; keep the route here) ----

export const databaseRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/database',
  staticData: { crumb: 'Database' },
}).lazy(() => import('./features/database/page').then((m) => m.Route));

// The Database area's sub-pages (its sub-navigation is features/database/page.tsx). The table
// list is the area's index (/database); /database/tables leads there too.
export const databaseTablesRoute = createRoute({
  getParentRoute: () => databaseRoute,
  path: '/',
  validateSearch: tablesSearch,
}).lazy(() => import('./features/database/tables-page').then((m) => m.Route));

const databaseTablesAliasRoute = createRoute({
  getParentRoute: () => databaseRoute,
  path: 'tables',
  validateSearch: tablesSearch,
  beforeLoad: ({ search }) => {
    throw redirect({ to: '/database', search, replace: true });
  },
});

export const databaseTableRoute = createRoute({
  getParentRoute: () => databaseRoute,
  path: 'tables/$table',
  validateSearch: tableSearch,
  // The description, the first page of rows and the grid's chunk start loading with the
  // route's own chunks (bench/dashboard-grid.mjs measures the first page's time).
  staticData: {
    preloadCode: (search) => {
      void import('./features/database/prefetch');
      if (!search.tab) void import('./features/database/rows-tab');
    },
  },
  loaderDeps: ({ search }) => search,
  loader: ({ params, deps }) => {
    void import('./features/database/prefetch').then((m) => m.prefetchTable(params.table, deps));
    if (!deps.tab) void import('./features/database/rows-tab');
  },
}).lazy(() => import('./features/database/table-page').then((m) => m.Route));

export const databaseFunctionsRoute = createRoute({
  getParentRoute: () => databaseRoute,
  path: 'functions',
  staticData: { crumb: 'Functions' },
  validateSearch: catalogSearch,
}).lazy(() => import('./features/database/functions-page').then((m) => m.Route));

export const databaseViewsRoute = createRoute({
  getParentRoute: () => databaseRoute,
  path: 'views',
  staticData: { crumb: 'Views' },
  validateSearch: catalogSearch,
}).lazy(() => import('./features/database/views-page').then((m) => m.Route));

export const databaseEnumsRoute = createRoute({
  getParentRoute: () => databaseRoute,
  path: 'enums',
  staticData: { crumb: 'Enums' },
  validateSearch: catalogSearch,
}).lazy(() => import('./features/database/enums-page').then((m) => m.Route));

export const databaseExtensionsRoute = createRoute({
  getParentRoute: () => databaseRoute,
  path: 'extensions',
  staticData: { crumb: 'Extensions' },
  validateSearch: catalogSearch,
}).lazy(() => import('./features/database/extensions-page').then((m) => m.Route));

export const databaseDiagramRoute = createRoute({
  getParentRoute: () => databaseRoute,
  path: 'diagram',
  staticData: { crumb: 'Diagram' },
  validateSearch: diagramSearch,
}).lazy(() => import('./features/database/diagram-page').then((m) => m.Route));

export const databaseMigrationsRoute = createRoute({
  getParentRoute: () => databaseRoute,
  path: 'migrations',
  staticData: { crumb: 'Migrations' },
  validateSearch: migrationsSearch,
}).lazy(() => import('./features/database/migrations-page').then((m) => m.Route));

export const databaseImportExportRoute = createRoute({
  getParentRoute: () => databaseRoute,
  path: 'import-export',
  staticData: { crumb: 'Import & export' },
  validateSearch: importExportSearch,
}).lazy(() => import('./features/database/import-export-page').then((m) => m.Route));

export const sqlRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/sql',
  staticData: { crumb: 'SQL editor' },
  validateSearch: sqlSearch,
}).lazy(() => import('./features/sql/page').then((m) => m.Route));

export const authRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/auth',
  staticData: { crumb: 'Authentication' },
  validateSearch: authSearch,
}).lazy(() => import('./features/auth/page').then((m) => m.Route));

export const advisorRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/advisor',
  staticData: { crumb: 'Advisor' },
  validateSearch: advisorSearch,
}).lazy(() => import('./features/advisor/page').then((m) => m.Route));

export const logsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/logs',
  staticData: { crumb: 'Logs' },
  validateSearch: logsSearch,
}).lazy(() => import('./features/logs/page').then((m) => m.Route));

export const settingsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/settings',
  staticData: { crumb: 'Settings' },
  validateSearch: settingsSearch,
}).lazy(() => import('./features/settings/page').then((m) => m.Route));

export const functionsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/functions',
  staticData: { crumb: 'Functions' },
  validateSearch: functionsSearch,
}).lazy(() => import('./features/functions/page').then((m) => m.Route));

export const jobsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/jobs',
  staticData: { crumb: 'Jobs' },
  validateSearch: jobsSearch,
}).lazy(() => import('./features/jobs/page').then((m) => m.Route));

export const storageRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/storage',
  staticData: { crumb: 'Storage' },
  validateSearch: storageSearch,
}).lazy(() => import('./features/storage/page').then((m) => m.Route));

export const realtimeRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/realtime',
  staticData: { crumb: 'Realtime' },
  validateSearch: realtimeSearch,
}).lazy(() => import('./features/realtime/page').then((m) => m.Route));

export const webhooksRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/webhooks',
  staticData: { crumb: 'Webhooks' },
  validateSearch: webhooksSearch,
}).lazy(() => import('./features/webhooks/page').then((m) => m.Route));

export const paymentsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/payments',
  staticData: { crumb: 'Payments' },
  validateSearch: paymentsSearch,
}).lazy(() => import('./features/payments/page').then((m) => m.Route));

export const backupsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/backups',
  staticData: { crumb: 'Backups' },
  validateSearch: backupsSearch,
}).lazy(() => import('./features/backups/page').then((m) => m.Route));

export const aiRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/ai',
  staticData: { crumb: 'AI' },
  validateSearch: aiSearch,
}).lazy(() => import('./features/ai/page').then((m) => m.Route));

const routeTree = rootRoute.addChildren([
  signInRoute,
  unreachableRoute,
  appRoute.addChildren([
    overviewRoute,
    databaseRoute.addChildren([
      databaseTablesRoute,
      databaseTablesAliasRoute,
      databaseTableRoute,
      databaseFunctionsRoute,
      databaseViewsRoute,
      databaseEnumsRoute,
      databaseExtensionsRoute,
      databaseDiagramRoute,
      databaseMigrationsRoute,
      databaseImportExportRoute,
    ]),
    sqlRoute,
    authRoute,
    advisorRoute,
    storageRoute,
    functionsRoute,
    jobsRoute,
    logsRoute,
    settingsRoute,
    aiRoute,
    realtimeRoute,
    webhooksRoute,
    paymentsRoute,
    backupsRoute,
  ]),
]);

export const router = createRouter({
  routeTree,
  basepath: '/dashboard',
  context: {},
  defaultPreload: 'intent',
  scrollRestoration: true,
});

declare module '@tanstack/react-router' {
  interface Register {
    router: typeof router;
  }
}

// The first load's route chunks (shell, area, page) and the code their loaders import start now,
// with the health check and the session refresh, instead of after them (when a session may
// exist: a signed-out visit goes to sign-in and needs none of them).
// The loaders' code goes first: it starts the page's requests, which then overlap the components'
// chunks (the browser fetches a few files at a time from one server).
if (bootChecks && mayHaveSession()) {
  const { pathname, search } = router.state.location;
  const routes = router.getMatchedRoutes(pathname)[0];
  for (const route of routes) route.options.staticData?.preloadCode?.(search);
  for (const route of routes) {
    router.loadRouteChunk(route)?.catch(() => {
      // The navigation loads it again and shows the error.
    });
  }
}

// A request that cannot reach the API at all: if /api/health fails too, show the unreachable
// page (back here after Retry); a one-off network glitch stays a query error.
onApiUnreachable(() => {
  void apiReachable().then((ok) => {
    const { pathname, searchStr } = router.state.location;
    if (ok || pathname.endsWith('/unreachable')) return;
    apiSeen = false;
    void router.navigate({ to: '/unreachable', search: { redirect: `${pathname}${searchStr}` } });
  });
});

// A refused refresh (session revoked or expired) sends the admin to sign-in, back here after.
onSessionExpired(() => {
  queryClient.clear();
  const { pathname, searchStr } = router.state.location;
  if (pathname.endsWith('/sign-in')) return;
  void router.navigate({
    to: '/sign-in',
    search: { redirect: `${pathname}${searchStr}`, expired: true },
  });
});
