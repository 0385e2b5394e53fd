/**
 * Light, dark or system theme, saved in localStorage under `kiln.theme` and applied as the
 * `dark` class on <html>. public/theme-init.js applies the same rule before the first paint.
 */
import { useSyncExternalStore } from 'react';

export type ThemeChoice = 'light' | 'dark' | 'system';
const KEY = 'kiln.theme';
const listeners = new Set<() => void>();
const media = window.matchMedia('(prefers-color-scheme: dark)');

function read(): ThemeChoice {
  try {
    const v = localStorage.getItem(KEY);
    return v === 'light' || v === 'dark' ? v : 'system';
  } catch {
    return 'system';
  }
}

function apply(choice: ThemeChoice): void {
  const dark = choice === 'dark' || (choice === 'system' && media.matches);
  document.documentElement.classList.toggle('dark', dark);
  document.documentElement.style.colorScheme = dark ? 'dark' : 'light';
}

media.addEventListener('change', () => {
  if (read() === 'system') apply('system');
  listeners.forEach((l) => l());
});

export function setTheme(choice: ThemeChoice): void {
  try {
    localStorage.setItem(KEY, choice);
  } catch {
    /* storage blocked: applies to this page only */
  }
  apply(choice);
  listeners.forEach((l) => l());
}

/** The saved choice and whether the page is dark right now. */
export function useTheme(): { choice: ThemeChoice; dark: boolean } {
  const choice = useSyncExternalStore((l) => {
    listeners.add(l);
    return () => listeners.delete(l);
  }, read);
  return { choice, dark: choice === 'dark' || (choice === 'system' && media.matches) };
}
