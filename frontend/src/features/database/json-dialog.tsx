/**
 * The JSON editor of a json/jsonb or array cell: a textarea that validates as the admin types
 * (the error says where), pretty-prints on demand, and saves only valid JSON. Big documents stay
 * fast: the grid shows a truncated line, the whole text lives only here.
 */
import { useMemo, useRef, useState } from 'react';
import { Braces } from 'lucide-react';
import { Button } from '../../ui/button';
import { Dialog, DialogContent } from '../../ui/dialog';
import { Textarea } from '../../ui/input';

export interface JsonDialogProps {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: string;
  /** The value being edited (undefined/null start empty). */
  value: unknown;
  /** Arrays only (array columns). */
  arrayOnly?: boolean;
  nullable: boolean;
  saving?: boolean;
  onSave: (value: unknown) => void;
}

function check(text: string, arrayOnly: boolean, nullable: boolean): string | undefined {
  if (text.trim() === '')
    return nullable ? undefined : 'A value is required (the column is NOT NULL)';
  try {
    const v: unknown = JSON.parse(text);
    if (arrayOnly && v !== null && !Array.isArray(v))
      return 'Expected a JSON array, e.g. ["a", "b"]';
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export function JsonDialog(props: JsonDialogProps) {
  return (
    <Dialog open={props.open} onOpenChange={props.onOpenChange}>
      {props.open && <JsonDialogBody {...props} />}
    </Dialog>
  );
}

function JsonDialogBody({
  onOpenChange,
  title,
  value,
  arrayOnly = false,
  nullable,
  saving,
  onSave,
}: JsonDialogProps) {
  const [text, setText] = useState(() =>
    value === null || value === undefined ? '' : JSON.stringify(value, null, 2),
  );
  const error = useMemo(() => check(text, arrayOnly, nullable), [text, arrayOnly, nullable]);
  const area = useRef<HTMLTextAreaElement>(null);
  const save = () => {
    if (error) return;
    onSave(text.trim() === '' ? null : JSON.parse(text));
  };
  return (
    <DialogContent
      onOpenAutoFocus={(e) => {
        // Straight into the text, the cursor at its start.
        e.preventDefault();
        area.current?.focus();
        area.current?.setSelectionRange(0, 0);
      }}
      title={title}
      description={
        arrayOnly
          ? 'A JSON array; its items are converted to the column’s element type.'
          : 'Any JSON value: object, array, string, number, boolean or null.'
      }
      size="lg"
      footer={
        <>
          <Button variant="outline" onClick={() => onOpenChange(false)}>
            Cancel
          </Button>
          <Button onClick={save} disabled={!!error} loading={saving}>
            Save
          </Button>
        </>
      }
    >
      <div className="flex flex-col gap-2">
        <div className="flex items-center justify-between">
          <span className="text-xs text-muted">
            {text.length.toLocaleString('en-US')} characters
          </span>
          <Button
            variant="ghost"
            size="sm"
            disabled={!!error || text.trim() === ''}
            onClick={() => setText(JSON.stringify(JSON.parse(text), null, 2))}
          >
            <Braces aria-hidden />
            Format
          </Button>
        </div>
        <Textarea
          ref={area}
          aria-label="JSON value"
          aria-invalid={error ? true : undefined}
          aria-describedby="json-dialog-status"
          spellCheck={false}
          className="h-[45vh] resize-y font-mono text-xs leading-5"
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.metaKey || e.ctrlKey)) {
              e.preventDefault();
              save();
            }
          }}
        />
        <p
          id="json-dialog-status"
          role="status"
          className={error ? 'text-xs font-medium text-danger' : 'text-xs text-muted'}
        >
          {error ? `Invalid JSON: ${error}` : 'Valid JSON. Ctrl+Enter saves.'}
        </p>
      </div>
    </DialogContent>
  );
}
