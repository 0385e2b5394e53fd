/**
 * The signed-in frame: sidebar by area, top bar (breadcrumbs, command palette, theme, admin
 * menu) and the page in <Outlet/>. Pages render inside <main> with their own PageHeader.
 */
import { useMemo, useState } from 'react';
import { createLazyRoute, Link, Outlet, useMatches, useNavigate } from '@tanstack/react-router';
import { BookOpen, Flame, LogOut, MonitorSmartphone, Moon, Search, Sun } from 'lucide-react';
import { registerCommands, useRegisterCommands, type Command } from '../lib/commands';
import { setTheme } from '../lib/theme';
import { Breadcrumbs, type Crumb } from '../ui/breadcrumbs';
import { Kbd } from '../ui/misc';
import { AdminMenu, useSignOut } from './admin-menu';
import { CommandPalette } from './command-palette';
import { navItems } from './nav';
import { ThemeToggle } from './theme-toggle';

export const Route = createLazyRoute('/app')({ component: Shell });

// Re-exported so areas can register commands without reaching into lib/ by path.
export { registerCommands };

function Sidebar() {
  return (
    // The aside spans the page's height (its border and background); its content stays in view.
    <aside className="w-56 shrink-0 border-r border-border bg-surface">
      <div className="sticky top-0 flex h-screen flex-col">
        <Link to="/" className="flex h-14 items-center gap-2 border-b border-border px-4">
          <Flame className="size-5 text-primary" aria-hidden />
          <span className="text-base font-semibold tracking-tight">Kiln</span>
        </Link>
        <nav aria-label="Areas" className="flex flex-1 flex-col gap-0.5 p-2">
          {navItems.map((item) => (
            <Link
              key={item.to}
              to={item.to}
              activeOptions={{ exact: item.to === '/', includeSearch: false }}
              className="flex items-center gap-2.5 rounded-md px-2.5 py-2 text-sm text-muted hover:bg-surface-2 hover:text-fg data-[status=active]:bg-accent data-[status=active]:font-medium data-[status=active]:text-fg"
            >
              <item.icon className="size-4" />
              {item.label}
            </Link>
          ))}
        </nav>
        <div className="border-t border-border p-2">
          <a
            href="/api/docs/reference"
            target="_blank"
            rel="noreferrer"
            className="flex items-center gap-2.5 rounded-md px-2.5 py-2 text-sm text-muted hover:bg-surface-2 hover:text-fg"
          >
            <BookOpen className="size-4" aria-hidden />
            API reference
          </a>
        </div>
      </div>
    </aside>
  );
}

function useCrumbs(): Crumb[] {
  const matches = useMatches();
  const crumbs: Crumb[] = [];
  for (const m of matches) {
    const crumb = m.staticData.crumb;
    if (crumb) crumbs.push({ label: crumb, to: m.pathname });
  }
  return crumbs;
}

function useShellCommands(openSessions: () => void): void {
  const navigate = useNavigate();
  const signOut = useSignOut();
  const commands = useMemo<Command[]>(
    () => [
      ...navItems.map((item) => ({
        id: `page:${item.to}`,
        group: 'Pages',
        label: item.label,
        keywords: item.keywords,
        icon: item.icon,
        run: () => void navigate({ to: item.to }),
      })),
      {
        id: 'theme:light',
        group: 'Actions',
        label: 'Use light theme',
        icon: Sun,
        run: () => setTheme('light'),
      },
      {
        id: 'theme:dark',
        group: 'Actions',
        label: 'Use dark theme',
        icon: Moon,
        run: () => setTheme('dark'),
      },
      {
        id: 'sessions',
        group: 'Actions',
        label: 'Manage admin sessions',
        icon: MonitorSmartphone,
        run: openSessions,
      },
      {
        id: 'docs',
        group: 'Actions',
        label: 'Open the API reference',
        icon: BookOpen,
        run: () => window.open('/api/docs/reference', '_blank', 'noreferrer'),
      },
      {
        id: 'sign-out',
        group: 'Actions',
        label: 'Sign out',
        icon: LogOut,
        run: () => void signOut(),
      },
    ],
    // Built once: navigate and signOut are stable for the shell's life.
    [],
  );
  useRegisterCommands('shell', commands);
}

function Shell() {
  const [paletteOpen, setPaletteOpen] = useState(false);
  const [sessionsOpen, setSessionsOpen] = useState(false);
  useShellCommands(() => setSessionsOpen(true));
  const crumbs = useCrumbs();
  return (
    <div className="flex min-h-full">
      <Sidebar />
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="sticky top-0 z-30 flex h-14 shrink-0 items-center justify-between gap-4 border-b border-border bg-surface px-5">
          <Breadcrumbs items={crumbs} />
          <div className="flex items-center gap-1">
            <button
              type="button"
              onClick={() => setPaletteOpen(true)}
              className="mr-2 flex h-8 w-56 cursor-pointer items-center gap-2 rounded-md border border-border-strong bg-bg px-2.5 text-sm text-muted hover:text-fg"
            >
              <Search className="size-4" aria-hidden />
              <span className="flex-1 text-left">Search…</span>
              <Kbd aria-hidden>Ctrl K</Kbd>
              <span className="sr-only">Open the command palette (Control K)</span>
            </button>
            <ThemeToggle />
            <AdminMenu sessionsOpen={sessionsOpen} onSessionsOpenChange={setSessionsOpen} />
          </div>
        </header>
        <main className="flex-1">
          <div className="mx-auto w-full max-w-6xl px-6 py-6">
            <Outlet />
          </div>
        </main>
      </div>
      <CommandPalette open={paletteOpen} onOpenChange={setPaletteOpen} />
    </div>
  );
}
