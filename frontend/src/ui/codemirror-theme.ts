/**
 * The dashboard's CodeMirror look: colours from the CSS tokens (so the editor follows the light
 * and dark themes by itself), the mono font, lint marks and tooltips, and one highlight style.
 * Shared by the SQL editor and the functions editor. Import it only from lazily loaded
 * components: it pulls CodeMirror in.
 */
import { HighlightStyle } from '@codemirror/language';
import { EditorView } from '@codemirror/view';
import { tags as t } from '@lezer/highlight';

export const editorTheme = EditorView.theme({
  '&': {
    backgroundColor: 'var(--kiln-surface)',
    color: 'var(--kiln-fg)',
    fontSize: '13px',
    height: '100%',
  },
  '&.cm-focused': { outline: 'none' },
  '.cm-scroller': { fontFamily: 'var(--font-mono)', lineHeight: '1.6' },
  '.cm-content': { caretColor: 'var(--kiln-fg)', padding: '8px 0' },
  '.cm-cursor, .cm-dropCursor': { borderLeftColor: 'var(--kiln-fg)' },
  '.cm-gutters': {
    backgroundColor: 'var(--kiln-surface-2)',
    color: 'var(--kiln-muted)',
    borderRight: '1px solid var(--kiln-border)',
  },
  '.cm-activeLine': {
    backgroundColor: 'color-mix(in srgb, var(--kiln-surface-2) 55%, transparent)',
  },
  '.cm-activeLineGutter': { backgroundColor: 'var(--kiln-border)', color: 'var(--kiln-fg)' },
  '&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, .cm-content ::selection':
    { backgroundColor: 'color-mix(in srgb, var(--kiln-primary) 24%, transparent)' },
  '.cm-matchingBracket, &.cm-focused .cm-matchingBracket': {
    backgroundColor: 'color-mix(in srgb, var(--kiln-primary) 18%, transparent)',
    outline: '1px solid color-mix(in srgb, var(--kiln-primary) 50%, transparent)',
  },
  '.cm-placeholder': { color: 'var(--kiln-muted)' },
  '.cm-tooltip': {
    backgroundColor: 'var(--kiln-surface)',
    color: 'var(--kiln-fg)',
    border: '1px solid var(--kiln-border)',
    borderRadius: '6px',
    boxShadow: '0 8px 24px rgb(0 0 0 / 0.15)',
    overflow: 'hidden',
  },
  '.cm-tooltip-autocomplete > ul': { fontFamily: 'var(--font-mono)', fontSize: '12.5px' },
  '.cm-tooltip-autocomplete > ul > li': { padding: '2px 8px !important' },
  '.cm-tooltip-autocomplete > ul > li[aria-selected]': {
    backgroundColor: 'var(--kiln-accent)',
    color: 'var(--kiln-fg)',
  },
  '.cm-completionDetail': { color: 'var(--kiln-muted)', fontStyle: 'normal', marginLeft: '1em' },
  '.cm-completionMatchedText': { textDecoration: 'none', fontWeight: '700' },
  '.cm-lintRange-error': {
    backgroundImage: 'none',
    textDecoration: 'underline wavy var(--kiln-danger)',
    textUnderlineOffset: '3px',
    backgroundColor: 'var(--kiln-danger-soft)',
  },
  '.cm-diagnostic': { fontFamily: 'var(--font-sans)', padding: '4px 8px' },
  '.cm-diagnostic-error': { borderLeft: '3px solid var(--kiln-danger)' },
  '.cm-panels': { backgroundColor: 'var(--kiln-surface-2)', color: 'var(--kiln-fg)' },
  '.cm-searchMatch': { backgroundColor: 'var(--kiln-warning-soft)' },
});

export const editorHighlight = HighlightStyle.define([
  {
    tag: [t.keyword, t.operatorKeyword, t.modifier],
    color: 'var(--kiln-primary)',
    fontWeight: '600',
  },
  { tag: [t.string, t.special(t.string)], color: 'var(--kiln-success)' },
  { tag: [t.number, t.bool, t.null], color: 'var(--kiln-warning)' },
  {
    tag: [t.comment, t.lineComment, t.blockComment],
    color: 'var(--kiln-muted)',
    fontStyle: 'italic',
  },
  { tag: [t.typeName, t.standard(t.name)], color: 'var(--kiln-warning)' },
  { tag: t.special(t.name), color: 'var(--kiln-fg)', fontStyle: 'italic' },
  { tag: [t.punctuation, t.operator], color: 'var(--kiln-muted)' },
]);
