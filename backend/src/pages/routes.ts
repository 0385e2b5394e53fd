/**
 * The web apps' entry: `/` sends a browser to the dashboard. (The dashboard and the auth pages
 * themselves are static files with client-side routes, served by core/http.ts `spa()`.)
 */
import { route, type RouteGroup } from '../core/route.js';

export function pagesRoutes(): RouteGroup {
  return {
    tag: 'pages',
    access: 'anyone',
    routes: [
      route({
        method: 'get',
        path: '/',
        summary: 'Redirect to the dashboard',
        responses: {
          302: { description: 'To /dashboard/', headers: { Location: '/dashboard/' } },
        },
        handler: ({ res }) => res.redirect(302, '/dashboard/'),
      }),
    ],
  };
}
