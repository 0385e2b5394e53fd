/**
 * The command palette's registry. The shell registers pages and global actions; an area adds
 * its own entries (e.g. one per table) with `useRegisterCommands('database', commands)` from any
 * component that is mounted while they apply, or `registerCommands` outside React.
 */
import { useEffect, useSyncExternalStore } from 'react';

export interface Command {
  id: string;
  /** What the palette shows and searches. */
  label: string;
  /** The palette groups entries under this heading (Pages, Actions, Tables...). */
  group: string;
  keywords?: string[];
  icon?: React.ComponentType<{ className?: string }>;
  /** Runs when chosen; the palette closes first. */
  run: () => void;
}

const sources = new Map<string, Command[]>();
const listeners = new Set<() => void>();
let snapshot: Command[] = [];

function publish(): void {
  snapshot = [...sources.values()].flat();
  listeners.forEach((l) => l());
}

/** Sets the entries of one source (replacing its previous ones); returns an unregister. */
export function registerCommands(source: string, commands: Command[]): () => void {
  sources.set(source, commands);
  publish();
  return () => {
    if (sources.get(source) === commands) {
      sources.delete(source);
      publish();
    }
  };
}

export function useRegisterCommands(source: string, commands: Command[]): void {
  useEffect(() => registerCommands(source, commands), [source, commands]);
}

export function useCommands(): Command[] {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => snapshot,
  );
}
