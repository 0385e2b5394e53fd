import { useEffect, useState, type ReactNode } from 'react';
import { useConfig } from '../lib/config';
import { useI18n } from '../lib/i18n';

const THEME_KEY = 'kiln-auth-theme';
type Theme = 'light' | 'dark';

/** The visitor's choice, else the project's default, else the system's. */
export function initialTheme(projectDefault: 'system' | 'light' | 'dark'): Theme {
  const url = new URLSearchParams(window.location.search).get('theme');
  if (url === 'light' || url === 'dark') return url;
  const saved = localStorage.getItem(THEME_KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  if (projectDefault !== 'system') return projectDefault;
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function applyTheme(theme: Theme) {
  document.documentElement.classList.toggle('dark', theme === 'dark');
}

function ThemeToggle() {
  const { t } = useI18n();
  const config = useConfig();
  const [theme, setTheme] = useState<Theme>(() => initialTheme(config.defaultTheme));
  useEffect(() => applyTheme(theme), [theme]);
  const next: Theme = theme === 'dark' ? 'light' : 'dark';
  return (
    <button
      type="button"
      onClick={() => {
        localStorage.setItem(THEME_KEY, next);
        setTheme(next);
      }}
      aria-label={`${t('theme.toggle')}: ${t(next === 'dark' ? 'theme.dark' : 'theme.light')}`}
      className="rounded-md p-2 text-zinc-600 outline-none hover:bg-zinc-200 focus-visible:ring-2 ring-brand dark:text-zinc-300 dark:hover:bg-zinc-800"
    >
      {theme === 'dark' ? (
        <svg
          aria-hidden="true"
          width="18"
          height="18"
          viewBox="0 0 24 24"
          fill="none"
          stroke="currentColor"
          strokeWidth="2"
        >
          <circle cx="12" cy="12" r="4" />
          <path d="M12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4" />
        </svg>
      ) : (
        <svg
          aria-hidden="true"
          width="18"
          height="18"
          viewBox="0 0 24 24"
          fill="none"
          stroke="currentColor"
          strokeWidth="2"
        >
          <path d="M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z" />
        </svg>
      )}
    </button>
  );
}

/** The frame of every page: the project's logo and name, the theme switch, a card. */
export function Layout({
  title,
  children,
  wide,
}: {
  title: string;
  children: ReactNode;
  wide?: boolean;
}) {
  const config = useConfig();
  const { t } = useI18n();
  const app = config.appName ?? t('app.defaultName');
  useEffect(() => {
    document.title = `${title} · ${app}`;
  }, [title, app]);
  return (
    <div className="flex min-h-dvh flex-col">
      <header className="mx-auto flex w-full max-w-3xl items-center justify-between px-4 py-4">
        <div className="flex min-w-0 items-center gap-2">
          {config.logoUrl ? (
            <img
              src={config.logoUrl}
              alt=""
              width={28}
              height={28}
              className="size-7 rounded object-contain"
            />
          ) : (
            <span
              aria-hidden="true"
              className="bg-brand text-on-brand grid size-7 place-items-center rounded text-sm font-bold"
            >
              {app.slice(0, 1).toUpperCase()}
            </span>
          )}
          <span className="truncate font-semibold">{app}</span>
        </div>
        <ThemeToggle />
      </header>
      <main className="flex flex-1 items-start justify-center px-4 pb-12 sm:items-center">
        <div
          className={`w-full ${wide ? 'max-w-2xl' : 'max-w-sm'} rounded-xl border border-zinc-200 bg-white p-6 shadow-sm sm:p-8 dark:border-zinc-800 dark:bg-zinc-900`}
        >
          <h1 className="mb-6 text-xl font-semibold tracking-tight">{title}</h1>
          {children}
        </div>
      </main>
    </div>
  );
}
