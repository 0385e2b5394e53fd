/**
 * The SQL editor itself: CodeMirror 6 with PostgreSQL's dialect, autocomplete from the live schema,
 * Mod-Enter to run, the failing position of an error marked (a lint diagnostic, the cursor moved
 * there). Loaded lazily by the page (React.lazy), so CodeMirror stays out of the first load.
 * Themed through the dashboard's CSS tokens, so it follows the light and dark themes by itself.
 */
import { useCallback, useEffect, useMemo, useRef } from 'react';
import CodeMirror from '@uiw/react-codemirror';
import { PostgreSQL, sql, type SQLNamespace } from '@codemirror/lang-sql';
import { syntaxHighlighting } from '@codemirror/language';
import { linter, lintGutter, setDiagnostics } from '@codemirror/lint';
import { Prec } from '@codemirror/state';
import { EditorView, keymap } from '@codemirror/view';
import { editorHighlight as highlight, editorTheme as theme } from '../../ui/codemirror-theme';
import type { SchemaTree } from './hooks';

export interface EditorHandle {
  /** The selected text (and where it starts), or the whole text when nothing is selected. */
  target(): { text: string; from: number; selection: boolean };
  /** Marks [from, to) as the error and moves the cursor there. */
  markError(from: number, message: string): void;
  clearError(): void;
  focus(): void;
}

export interface SqlEditorProps {
  value: string;
  onChange: (value: string) => void;
  schema: SchemaTree | undefined;
  onRun: () => void;
  onExplain: () => void;
  onSave: () => void;
  onReady: (handle: EditorHandle | null) => void;
  /** Tells the page whether text is selected (the Run button says "Run selection"). */
  onSelectionChange: (selected: boolean) => void;
}

const basicSetup = { highlightActiveLine: true, foldGutter: false, searchKeymap: true };

/** The schema as lang-sql's namespace: schemas → tables → columns (with their types). */
function namespace(schema: SchemaTree | undefined): SQLNamespace {
  const ns: Record<string, Record<string, { label: string; detail: string; type: string }[]>> = {};
  for (const [s, tables] of Object.entries(schema ?? {})) {
    ns[s] = {};
    for (const [table, cols] of Object.entries(tables)) {
      ns[s][table] = cols.map((c) => ({ ...c, type: 'property' }));
    }
  }
  return ns;
}

/** The end of the token at `from` (a word, a quoted name, or one character). */
function tokenEnd(doc: string, from: number): number {
  const rest = doc.slice(from);
  const m = /^("[^"]*"|'[^']*'|[\w$.]+)/.exec(rest);
  return from + Math.max(1, m ? m[0].length : 1);
}

export default function SqlEditor({
  value,
  onChange,
  schema,
  onRun,
  onExplain,
  onSave,
  onReady,
  onSelectionChange,
}: SqlEditorProps) {
  const view = useRef<EditorView | null>(null);
  const handlers = useRef({ onChange, onRun, onExplain, onSave, onSelectionChange });
  handlers.current = { onChange, onRun, onExplain, onSave, onSelectionChange };
  // Stable: @uiw/react-codemirror reconfigures the editor whenever onChange or the extensions
  // change identity, which would also drop the error mark.
  const change = useCallback((v: string) => handlers.current.onChange(v), []);

  const extensions = useMemo(
    () => [
      sql({
        dialect: PostgreSQL,
        schema: namespace(schema),
        defaultSchema: 'public',
        upperCaseKeywords: true,
      }),
      syntaxHighlighting(highlight),
      // The lint state in the base config (no source: the error mark is set from a run).
      linter(null),
      lintGutter(),
      EditorView.lineWrapping,
      EditorView.contentAttributes.of({ 'aria-label': 'SQL query' }),
      Prec.highest(
        keymap.of([
          { key: 'Mod-Enter', run: () => (handlers.current.onRun(), true) },
          { key: 'Shift-Mod-Enter', run: () => (handlers.current.onExplain(), true) },
          { key: 'Mod-s', run: () => (handlers.current.onSave(), true) },
        ]),
      ),
      EditorView.updateListener.of((u) => {
        if (u.selectionSet) handlers.current.onSelectionChange(!u.state.selection.main.empty);
      }),
    ],
    [schema],
  );

  useEffect(() => () => onReady(null), [onReady]);

  return (
    <CodeMirror
      value={value}
      onChange={change}
      theme={theme}
      extensions={extensions}
      height="100%"
      className="h-full"
      placeholder="SELECT * FROM …"
      basicSetup={basicSetup}
      onCreateEditor={(v) => {
        view.current = v;
        onReady({
          target: () => {
            const { from, to } = v.state.selection.main;
            const doc = v.state.doc.toString();
            return from === to
              ? { text: doc, from: 0, selection: false }
              : { text: doc.slice(from, to), from, selection: true };
          },
          markError: (from, message) => {
            const doc = v.state.doc.toString();
            const at = Math.min(Math.max(0, from), doc.length);
            const to = Math.min(tokenEnd(doc, at), doc.length);
            v.dispatch(
              setDiagnostics(v.state, [
                { from: at, to: Math.max(at, to), severity: 'error', message },
              ]),
            );
            v.dispatch({ selection: { anchor: at }, scrollIntoView: true });
            v.focus();
          },
          clearError: () => v.dispatch(setDiagnostics(v.state, [])),
          focus: () => v.focus(),
        });
      }}
    />
  );
}
