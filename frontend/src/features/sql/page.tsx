/**
 * The SQL editor: tabs of drafts (kept in localStorage; the open tab and snippet in the URL), a
 * CodeMirror editor loaded lazily, runs of the whole text or the selection with per-statement
 * results, EXPLAIN as a plan tree, and a side panel of saved snippets and run history, both kept
 * in Kiln's database through /api/database/sql/*.
 */
import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { createLazyRoute, getRouteApi } from '@tanstack/react-router';
import { toast } from 'sonner';
import { Gauge, Pencil, Play, Plus, Save, SaveAll, SquareTerminal, X } from 'lucide-react';
import { isApiError } from '../../lib/api';
import { cn } from '../../lib/cn';
import { useRegisterCommands, type Command } from '../../lib/commands';
import { errorToastDescription } from '../../lib/mutation';
import { Button } from '../../ui/button';
import { Checkbox } from '../../ui/checkbox';
import { Label } from '../../ui/input';
import { PageHeader, Skeleton } from '../../ui/misc';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '../../ui/tabs';
import type { EditorHandle } from './editor';
import {
  useCreateSnippet,
  useRunSql,
  useSchemaTree,
  useSnippet,
  useUpdateSnippet,
  type HistoryEntry,
  type Snippet,
} from './hooks';
import { NameDialog } from './name-dialog';
import { modKey, Results, type RunState } from './results';
import type { SqlPanel, SqlSearch } from './search';
import { HistoryPanel, SnippetsPanel } from './side-panels';
import { useEditorTabs, type EditorTab } from './tabs';

export const Route = createLazyRoute('/app/sql')({ component: SqlPage });

const route = getRouteApi('/app/sql');
const SqlEditor = lazy(() => import('./editor'));

/** 1-based line and column of an offset in a text. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

type NameAction = 'save' | 'save-as' | 'rename-tab';

function SqlPage() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const setSearch = useCallback(
    (patch: Partial<SqlSearch>, replace = false) =>
      void navigate({ search: (s) => ({ ...s, ...patch }), replace }),
    [navigate],
  );

  const { tabs, update, open, close } = useEditorTabs();
  const snippetTab = search.snippet ? tabs.find((t) => t.snippetId === search.snippet) : undefined;
  const active: EditorTab = snippetTab ?? tabs.find((t) => t.id === search.tab) ?? tabs[0]!;

  // ?snippet=<id> that no tab holds yet: fetch it and open it into a new tab.
  const pending = search.snippet && !snippetTab ? search.snippet : undefined;
  const linked = useSnippet(pending);
  const openedFor = useRef<string | null>(null);
  useEffect(() => {
    if (!pending) return;
    if (linked.data && openedFor.current !== pending) {
      openedFor.current = pending;
      const s = linked.data;
      const id = open({ title: s.name, sql: s.sql, snippetId: s.id, savedSql: s.sql });
      setSearch({ tab: id }, true);
    } else if (linked.error) {
      toast.error(
        linked.error instanceof Error ? linked.error.message : 'Could not open the snippet',
        { description: errorToastDescription(linked.error) },
      );
      setSearch({ snippet: undefined }, true);
    }
  }, [pending, linked.data, linked.error, open, setSearch]);

  const selectTab = (t: EditorTab) => setSearch({ tab: t.id, snippet: t.snippetId });

  const schema = useSchemaTree();
  const runSql = useRunSql();
  const createSnippet = useCreateSnippet();
  const updateSnippet = useUpdateSnippet();

  const editor = useRef<EditorHandle | null>(null);
  const onReady = useCallback((h: EditorHandle | null) => {
    editor.current = h;
  }, []);
  const [selected, setSelected] = useState(false);
  const [analyze, setAnalyze] = useState(false);
  const [runs, setRuns] = useState<Record<string, RunState & { errorAt?: number }>>({});
  const runState = runs[active.id] ?? { status: 'idle' as const };
  const [naming, setNaming] = useState<NameAction | null>(null);

  const activeRef = useRef(active);
  activeRef.current = active;

  const run = async (mode: 'run' | 'explain') => {
    const h = editor.current;
    const tab = activeRef.current;
    if (!h || runSql.isPending) return;
    const target = h.target();
    const lead = target.text.length - target.text.trimStart().length;
    const body = target.text.trim();
    if (!body) {
      toast.info('Nothing to run: write a query first');
      return;
    }
    // EXPLAIN wraps the statement; positions in the answer are mapped back past the prefix.
    const prefix = mode === 'explain' ? `EXPLAIN (FORMAT JSON${analyze ? ', ANALYZE' : ''}) ` : '';
    const query = prefix ? prefix + body.replace(/;\s*$/, '') : target.text;
    const toEditor = (i: number) =>
      prefix ? target.from + lead + Math.max(0, i - prefix.length) : target.from + i;
    h.clearError();
    setRuns((r) => ({ ...r, [tab.id]: { status: 'running', query } }));
    try {
      const result = await runSql.mutateAsync(query);
      setRuns((r) => ({ ...r, [tab.id]: { status: 'done', query, result } }));
    } catch (error) {
      const pos = isApiError(error) ? error.details.position : undefined;
      let at: { errorAt: number; line: number; column: number } | undefined;
      if (typeof pos === 'number' && pos >= 1) {
        const errorAt = toEditor(pos - 1);
        at = { errorAt, ...lineColumn(tab.sql, errorAt) };
        // Only if that tab's editor is still the one shown (the admin may have switched).
        if (editor.current === h) {
          h.markError(errorAt, error instanceof Error ? error.message : String(error));
        }
      }
      setRuns((r) => ({ ...r, [tab.id]: { status: 'error', query, error, ...at } }));
    }
  };
  const runRef = useRef(run);
  runRef.current = run;
  const onRun = useCallback(() => void runRef.current('run'), []);
  const onExplain = useCallback(() => void runRef.current('explain'), []);

  // Mod-Enter runs from anywhere on the page (the editor handles it itself when focused), unless
  // a dialog is open.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.key !== 'Enter' || !(e.ctrlKey || e.metaKey) || e.altKey) return;
      if (document.querySelector('[role=dialog],[role=alertdialog]')) return;
      e.preventDefault();
      if (e.shiftKey) onExplain();
      else onRun();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onRun, onExplain]);

  const showPosition = () => {
    const s = runs[active.id];
    if (s?.status === 'error' && s.errorAt !== undefined) {
      editor.current?.markError(
        s.errorAt,
        s.error instanceof Error ? s.error.message : String(s.error),
      );
    }
  };

  const newTab = useCallback(() => {
    const id = open({ sql: '' });
    setSearch({ tab: id, snippet: undefined });
  }, [open, setSearch]);

  const closeTab = (t: EditorTab) => {
    const index = tabs.findIndex((x) => x.id === t.id);
    const rest = close(t.id);
    setRuns(({ [t.id]: _gone, ...r }) => r);
    if (t.id === active.id) {
      const next = rest[Math.min(index, rest.length - 1)]!;
      setSearch({ tab: next.id, snippet: next.snippetId }, true);
    }
  };

  const linkTab = (tabId: string, s: Snippet) => {
    update(tabId, { title: s.name, snippetId: s.id, savedSql: s.sql });
    setSearch({ tab: tabId, snippet: s.id }, true);
  };

  const save = useCallback(async () => {
    const tab = activeRef.current;
    if (!tab.snippetId) {
      setNaming('save');
      return;
    }
    const s = await updateSnippet.mutateAsync({ id: tab.snippetId, sql: tab.sql });
    update(tab.id, { savedSql: s.sql });
  }, [updateSnippet, update]);

  const openSnippet = (s: Snippet) => {
    const existing = tabs.find((t) => t.snippetId === s.id);
    if (existing) {
      selectTab(existing);
      return;
    }
    const id = open({ title: s.name, sql: s.sql, snippetId: s.id, savedSql: s.sql });
    setSearch({ tab: id, snippet: s.id });
  };

  const openHistory = (e: HistoryEntry) => {
    const id = open({ sql: e.sql });
    setSearch({ tab: id, snippet: undefined });
  };

  const commands = useMemo<Command[]>(
    () => [
      { id: 'sql:new-tab', label: 'New SQL tab', group: 'SQL editor', icon: Plus, run: newTab },
      {
        id: 'sql:save',
        label: 'Save the SQL snippet',
        group: 'SQL editor',
        icon: Save,
        run: () => void save().catch(() => undefined),
      },
    ],
    [newTab, save],
  );
  useRegisterCommands('sql', commands);

  const dirty = (t: EditorTab) => t.snippetId !== undefined && t.sql !== t.savedSql;
  const panel: SqlPanel = search.panel ?? 'snippets';
  const running = runState.status === 'running';

  return (
    <>
      <PageHeader
        title="SQL editor"
        description="Run SQL against the project database as project_admin (Kiln's own schemas stay out of reach). Snippets and the run history are shared by every admin."
      />
      <div className="grid grid-cols-[13.5rem_minmax(0,1fr)] items-start gap-4 xl:grid-cols-[15rem_minmax(0,1fr)]">
        <aside
          aria-label="Snippets and history"
          className="sticky top-20 flex h-[calc(100vh-7rem)] min-h-[26rem] flex-col overflow-hidden rounded-lg border border-border bg-surface shadow-xs"
        >
          <Tabs
            value={panel}
            onValueChange={(v) =>
              setSearch({ panel: v === 'snippets' ? undefined : (v as SqlPanel) })
            }
            className="flex min-h-0 flex-1 flex-col"
          >
            <TabsList className="w-full shrink-0 px-2">
              <TabsTrigger value="snippets">Snippets</TabsTrigger>
              <TabsTrigger value="history">History</TabsTrigger>
            </TabsList>
            <TabsContent value="snippets" className="flex min-h-0 flex-1 flex-col pt-0">
              <SnippetsPanel
                search={search.q ?? ''}
                onSearchChange={(q) => setSearch({ q: q || undefined }, true)}
                activeSnippetId={active.snippetId}
                onOpen={openSnippet}
                onRenamed={(s) => {
                  for (const t of tabs) if (t.snippetId === s.id) update(t.id, { title: s.name });
                }}
                onDeleted={(id) => {
                  for (const t of tabs) {
                    if (t.snippetId === id) {
                      update(t.id, { snippetId: undefined, savedSql: undefined });
                    }
                  }
                  if (search.snippet === id) setSearch({ snippet: undefined }, true);
                }}
              />
            </TabsContent>
            <TabsContent value="history" className="flex min-h-0 flex-1 flex-col pt-0">
              <HistoryPanel
                status={search.status}
                offset={search.offset ?? 0}
                onChange={(next) => setSearch({ status: next.status, offset: next.offset })}
                onOpen={openHistory}
              />
            </TabsContent>
          </Tabs>
        </aside>

        <div className="flex min-w-0 flex-col gap-4">
          <section
            aria-label="Editor"
            className="rounded-lg border border-border bg-surface shadow-xs"
          >
            <div className="flex items-end gap-1 overflow-x-auto border-b border-border px-2 pt-2">
              <div role="group" aria-label="Editor tabs" className="flex min-w-0 items-end gap-1">
                {tabs.map((t) => {
                  const isActive = t.id === active.id;
                  return (
                    <div
                      key={t.id}
                      className={cn(
                        '-mb-px flex max-w-52 min-w-0 items-center rounded-t-md border',
                        isActive
                          ? 'border-border border-b-surface bg-surface text-fg'
                          : 'border-transparent text-muted hover:bg-surface-2 hover:text-fg',
                      )}
                    >
                      <button
                        type="button"
                        aria-current={isActive ? 'page' : undefined}
                        onClick={() => selectTab(t)}
                        onDoubleClick={() => setNaming('rename-tab')}
                        title={t.title}
                        className="flex min-w-0 cursor-pointer items-center gap-1.5 py-1.5 pr-1 pl-3 text-sm"
                      >
                        <SquareTerminal className="size-3.5 shrink-0" aria-hidden />
                        <span className="truncate">{t.title}</span>
                        {dirty(t) && (
                          <span
                            className="size-1.5 shrink-0 rounded-full bg-primary"
                            title="Unsaved changes"
                          >
                            <span className="sr-only">(unsaved changes)</span>
                          </span>
                        )}
                      </button>
                      <button
                        type="button"
                        aria-label={`Close ${t.title}`}
                        onClick={() => closeTab(t)}
                        className="mr-1 grid size-5 shrink-0 cursor-pointer place-items-center rounded text-muted hover:bg-border hover:text-fg"
                      >
                        <X className="size-3.5" aria-hidden />
                      </button>
                    </div>
                  );
                })}
              </div>
              <Button
                variant="ghost"
                size="icon-sm"
                className="mb-1"
                aria-label="New tab"
                onClick={newTab}
              >
                <Plus aria-hidden />
              </Button>
            </div>

            <div className="flex flex-wrap items-center gap-2 border-b border-border px-3 py-2">
              <Button onClick={onRun} loading={running} data-testid="run">
                {!running && <Play aria-hidden />}
                {selected ? 'Run selection' : 'Run'}
                <kbd className="ml-0.5 hidden font-sans text-xs xl:inline">{modKey}↵</kbd>
              </Button>
              <Button variant="outline" onClick={onExplain} disabled={running}>
                <Gauge aria-hidden /> Explain
              </Button>
              <div className="flex items-center gap-1.5">
                <Checkbox
                  id="sql-analyze"
                  checked={analyze}
                  onCheckedChange={(v) => setAnalyze(v === true)}
                />
                <Label
                  htmlFor="sql-analyze"
                  className="text-xs font-normal text-muted"
                  title="EXPLAIN ANALYZE runs the statement to measure it: its writes take effect"
                >
                  Analyze
                </Label>
              </div>
              <div className="ml-auto flex items-center gap-1.5">
                <Button
                  variant="ghost"
                  size="sm"
                  onClick={() => setNaming('rename-tab')}
                  aria-label="Rename tab"
                  title="Rename tab"
                >
                  <Pencil aria-hidden />
                </Button>
                <Button
                  variant="outline"
                  size="sm"
                  onClick={() => void save().catch(() => undefined)}
                  loading={updateSnippet.isPending}
                  title={active.snippetId ? 'Save the snippet' : 'Save as a new snippet'}
                >
                  <Save aria-hidden /> Save
                </Button>
                <Button
                  variant="outline"
                  size="sm"
                  onClick={() => setNaming('save-as')}
                  aria-label="Save as"
                  title="Save as a new snippet"
                >
                  <SaveAll aria-hidden /> <span className="hidden xl:inline">Save as</span>
                </Button>
              </div>
            </div>

            <div className="h-72 min-h-40 resize-y overflow-hidden" data-testid="editor">
              <Suspense
                fallback={
                  <div className="flex h-full flex-col gap-2 p-3" aria-label="Loading the editor">
                    <Skeleton className="h-4 w-1/2" />
                    <Skeleton className="h-4 w-2/3" />
                    <Skeleton className="h-4 w-1/3" />
                  </div>
                }
              >
                <SqlEditor
                  key={active.id}
                  value={active.sql}
                  onChange={(sql) => update(active.id, { sql })}
                  schema={schema.data}
                  onRun={onRun}
                  onExplain={onExplain}
                  onSave={() => void save().catch(() => undefined)}
                  onReady={onReady}
                  onSelectionChange={setSelected}
                />
              </Suspense>
            </div>
          </section>

          <section
            aria-label="Results"
            className="rounded-lg border border-border bg-surface p-4 shadow-xs"
            data-testid="results"
          >
            <Results state={runState} onShowPosition={showPosition} />
          </section>
        </div>
      </div>

      <NameDialog
        open={naming !== null}
        onOpenChange={(o) => !o && setNaming(null)}
        title={
          naming === 'rename-tab'
            ? 'Rename tab'
            : naming === 'save-as'
              ? 'Save as a new snippet'
              : 'Save snippet'
        }
        description={
          naming === 'rename-tab'
            ? active.snippetId
              ? 'The saved snippet is renamed too.'
              : undefined
            : 'Snippets are kept in the project database, shared by every admin.'
        }
        label={naming === 'rename-tab' ? 'Tab name' : 'Snippet name'}
        initial={naming === 'save-as' && active.snippetId ? `${active.title} (copy)` : active.title}
        confirmLabel={naming === 'rename-tab' ? 'Rename' : 'Save'}
        onSubmit={async (name) => {
          const tab = active;
          if (naming === 'rename-tab') {
            if (tab.snippetId) {
              await updateSnippet.mutateAsync({ id: tab.snippetId, name });
            }
            update(tab.id, { title: name });
            return;
          }
          const s = await createSnippet.mutateAsync({ name, sql: tab.sql });
          linkTab(tab.id, s);
        }}
      />
      <span className="sr-only" aria-live="polite">
        {runState.status === 'done'
          ? 'Query finished'
          : runState.status === 'error'
            ? 'Query failed'
            : ''}
      </span>
    </>
  );
}
