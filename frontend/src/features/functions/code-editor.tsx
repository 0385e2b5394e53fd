/**
 * The function editor: CodeMirror 6 with TypeScript, the SQL editor's look (ui/codemirror-theme),
 * Mod-S to save and deploy. Deno's diagnostics from a save are shown at their line: the spot
 * underlined with a gutter marker (a lint diagnostic) and the message written at the end of the
 * line itself. Loaded lazily by the page (React.lazy), so CodeMirror stays out of the first load.
 */
import { useCallback, useEffect, useMemo, useRef } from 'react';
import CodeMirror from '@uiw/react-codemirror';
import { javascript } from '@codemirror/lang-javascript';
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { linter, lintGutter, setDiagnostics } from '@codemirror/lint';
import { Prec, StateEffect, StateField, type EditorState } from '@codemirror/state';
import { Decoration, EditorView, keymap, WidgetType, type DecorationSet } from '@codemirror/view';
import { tags as t } from '@lezer/highlight';
import { editorHighlight, editorTheme } from '../../ui/codemirror-theme';

/** A diagnostic at a 1-based line and column. */
export interface LineDiagnostic {
  line: number;
  column: number;
  message: string;
}

export interface FunctionEditorHandle {
  /** Moves the cursor to a 1-based line and column and focuses the editor. */
  goTo(line: number, column: number): void;
}

export interface FunctionEditorProps {
  value: string;
  onChange: (value: string) => void;
  onSave: () => void;
  diagnostics: LineDiagnostic[];
  onReady: (handle: FunctionEditorHandle | null) => void;
}

/** TypeScript's own names on top of the shared style (definitions, properties, types). */
const tsHighlight = HighlightStyle.define([
  {
    tag: [t.definition(t.variableName), t.function(t.definition(t.variableName))],
    color: 'var(--kiln-fg)',
    fontWeight: '600',
  },
  { tag: [t.propertyName], color: 'var(--kiln-fg)' },
  { tag: [t.typeName, t.className], color: 'var(--kiln-warning)' },
]);

/** The message written after the end of its line. */
class InlineMessage extends WidgetType {
  constructor(readonly text: string) {
    super();
  }
  override eq(other: InlineMessage): boolean {
    return other.text === this.text;
  }
  toDOM(): HTMLElement {
    const el = document.createElement('span');
    el.className = 'cm-inline-diagnostic';
    el.textContent = this.text;
    return el;
  }
  override ignoreEvent(): boolean {
    return false;
  }
}

const setInline = StateEffect.define<LineDiagnostic[]>();

/** A 1-based line and column as a document position (clamped to the document). */
function position(state: EditorState, line: number, column: number): number {
  const l = state.doc.line(Math.min(Math.max(1, line), state.doc.lines));
  return Math.min(l.from + Math.max(0, column - 1), l.to);
}

function inlineDecorations(state: EditorState, list: LineDiagnostic[]): DecorationSet {
  const ranges = list.flatMap((d) => {
    const line = state.doc.line(Math.min(Math.max(1, d.line), state.doc.lines));
    return [
      Decoration.line({ class: 'cm-diagnostic-line' }).range(line.from),
      Decoration.widget({ widget: new InlineMessage(d.message), side: 1 }).range(line.to),
    ];
  });
  return Decoration.set(ranges, true);
}

const inlineField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(deco, tr) {
    let next = deco.map(tr.changes);
    for (const e of tr.effects) if (e.is(setInline)) next = inlineDecorations(tr.state, e.value);
    return next;
  },
  provide: (f) => EditorView.decorations.from(f),
});

const inlineTheme = EditorView.theme({
  '.cm-diagnostic-line': {
    backgroundColor: 'color-mix(in srgb, var(--kiln-danger) 9%, transparent)',
  },
  '.cm-inline-diagnostic': {
    marginLeft: '1.5em',
    padding: '0 6px',
    borderRadius: '4px',
    color: 'var(--kiln-danger)',
    fontFamily: 'var(--font-sans)',
    fontSize: '12px',
    fontWeight: '500',
  },
});

const basicSetup = { highlightActiveLine: true, foldGutter: true, searchKeymap: true };

function apply(view: EditorView, list: LineDiagnostic[]): void {
  const { state } = view;
  view.dispatch(
    setDiagnostics(
      state,
      list.map((d) => {
        // A position at the end of the line (Deno's for an unexpected end of input) marks the
        // line's last character: an empty range has no underline.
        const at = position(state, d.line, d.column);
        const line = state.doc.lineAt(at);
        const from = Math.max(line.from, Math.min(at, line.to - 1));
        return {
          from,
          to: Math.min(from + 1, line.to),
          severity: 'error' as const,
          message: d.message,
        };
      }),
    ),
  );
  view.dispatch({ effects: setInline.of(list) });
}

export default function FunctionEditor({
  value,
  onChange,
  onSave,
  diagnostics,
  onReady,
}: FunctionEditorProps) {
  const view = useRef<EditorView | null>(null);
  const handlers = useRef({ onChange, onSave });
  handlers.current = { onChange, onSave };
  // Stable: @uiw/react-codemirror reconfigures the editor when these change identity.
  const change = useCallback((v: string) => handlers.current.onChange(v), []);

  const extensions = useMemo(
    () => [
      javascript({ typescript: true }),
      syntaxHighlighting(tsHighlight),
      syntaxHighlighting(editorHighlight),
      // The lint state (no source: the diagnostics come from a save).
      linter(null),
      lintGutter(),
      inlineField,
      inlineTheme,
      // tabindex: the content is what the keyboard scrolls the (long, unwrapped) code with.
      EditorView.contentAttributes.of({ 'aria-label': 'Function code', tabindex: '0' }),
      Prec.highest(keymap.of([{ key: 'Mod-s', run: () => (handlers.current.onSave(), true) }])),
    ],
    [],
  );

  useEffect(() => {
    if (view.current) apply(view.current, diagnostics);
  }, [diagnostics]);

  useEffect(() => () => onReady(null), [onReady]);

  return (
    <CodeMirror
      value={value}
      onChange={change}
      theme={editorTheme}
      extensions={extensions}
      height="100%"
      className="h-full"
      basicSetup={basicSetup}
      onCreateEditor={(v) => {
        view.current = v;
        apply(v, diagnostics);
        onReady({
          goTo: (line, column) => {
            const at = position(v.state, line, column);
            v.dispatch({ selection: { anchor: at }, scrollIntoView: true });
            v.focus();
          },
        });
      }}
    />
  );
}
