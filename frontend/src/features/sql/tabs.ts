/**
 * The editor's tabs: drafts kept in localStorage (`kiln.sql.tabs`) so a reload finds them as they
 * were. A tab may be linked to a saved snippet (`snippetId`, `savedSql`: what the server has, to
 * tell unsaved changes). Which tab is open is URL state (?tab=), not stored here.
 */
import { useCallback, useEffect, useRef, useState } from 'react';

export interface EditorTab {
  id: string;
  title: string;
  sql: string;
  snippetId?: string;
  savedSql?: string;
}

const KEY = 'kiln.sql.tabs';

export function newTabId(): string {
  return Math.random().toString(36).slice(2, 10);
}

function isTab(v: unknown): v is EditorTab {
  const t = v as EditorTab;
  return (
    typeof t === 'object' &&
    t !== null &&
    typeof t.id === 'string' &&
    typeof t.title === 'string' &&
    typeof t.sql === 'string'
  );
}

function load(): EditorTab[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(KEY) ?? 'null');
    if (Array.isArray(parsed)) {
      const tabs = parsed.filter(isTab);
      if (tabs.length) return tabs;
    }
  } catch {
    /* unreadable or blocked storage: start afresh */
  }
  return [{ id: newTabId(), title: 'Query 1', sql: 'SELECT now();\n' }];
}

function persist(tabs: EditorTab[]): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(tabs));
  } catch {
    /* storage full or blocked: the drafts live for this page only */
  }
}

/** A title not used by another tab: "Query 2", "Query 3"… */
export function nextTitle(tabs: EditorTab[]): string {
  for (let n = tabs.length + 1; ; n++) {
    const t = `Query ${n}`;
    if (!tabs.some((x) => x.title === t)) return t;
  }
}

export function useEditorTabs() {
  const [tabs, setTabs] = useState<EditorTab[]>(load);
  // Written a moment after typing stops, and at once when the page goes away or unmounts.
  const latest = useRef(tabs);
  latest.current = tabs;
  useEffect(() => {
    const t = setTimeout(() => persist(tabs), 200);
    return () => clearTimeout(t);
  }, [tabs]);
  useEffect(() => {
    const flush = () => persist(latest.current);
    window.addEventListener('pagehide', flush);
    return () => {
      window.removeEventListener('pagehide', flush);
      flush();
    };
  }, []);

  const update = useCallback((id: string, patch: Partial<EditorTab>) => {
    setTabs((ts) => ts.map((t) => (t.id === id ? { ...t, ...patch } : t)));
  }, []);
  /** Opens a new tab (after the others) and answers its id. */
  const open = useCallback((init: Omit<EditorTab, 'id' | 'title'> & { title?: string }) => {
    const id = newTabId();
    setTabs((ts) => [...ts, { id, title: init.title ?? nextTitle(ts), ...init }]);
    return id;
  }, []);
  /** Closes a tab; the last one is replaced by an empty tab. Answers the remaining tabs. */
  const close = (id: string): EditorTab[] => {
    let rest = tabs.filter((t) => t.id !== id);
    if (rest.length === 0) rest = [{ id: newTabId(), title: 'Query 1', sql: '' }];
    setTabs(rest);
    return rest;
  };
  return { tabs, setTabs, update, open, close };
}
