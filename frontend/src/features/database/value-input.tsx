/**
 * One input per column type, shared by the insert form and the grid's editors: a select for
 * booleans and enums, the browser's date/time pickers, a JSON editor dialog for json and
 * arrays, a picker for foreign keys, a text input for the rest.
 */
import { useState } from 'react';
import { Braces, Link2 } from 'lucide-react';
import { Button } from '../../ui/button';
import { Input } from '../../ui/input';
import { cn } from '../../lib/cn';
import { displayValue, inputType, type ColumnKind } from './column-types';
import { FkPicker, type ForeignKeyTarget } from './fk-picker';
import { JsonDialog } from './json-dialog';

export const NULL_OPTION = '\u0000null';

const selectClass =
  'h-8 w-full rounded-md border border-border-strong bg-surface px-2 text-sm text-fg focus-visible:outline-2 focus-visible:outline-ring';

export interface ValueInputProps {
  id?: string;
  kind: ColumnKind;
  /** The text being edited (JSON text for json/array). */
  text: string;
  onText: (text: string) => void;
  nullable: boolean;
  enumValues?: string[];
  fk?: ForeignKeyTarget;
  placeholder?: string;
  label: string;
  className?: string;
  'aria-invalid'?: boolean;
  'aria-describedby'?: string;
}

export function ValueInput({
  id,
  kind,
  text,
  onText,
  nullable,
  enumValues,
  fk,
  placeholder,
  label,
  className,
  ...aria
}: ValueInputProps) {
  const [jsonOpen, setJsonOpen] = useState(false);
  const [pickOpen, setPickOpen] = useState(false);
  if (kind === 'boolean' || kind === 'enum') {
    const options = kind === 'boolean' ? ['true', 'false'] : (enumValues ?? []);
    return (
      <select
        id={id}
        aria-label={id ? undefined : label}
        className={cn(selectClass, className)}
        value={text === '' ? NULL_OPTION : text}
        onChange={(e) => onText(e.target.value === NULL_OPTION ? '' : e.target.value)}
        {...aria}
      >
        {(nullable || text === '') && (
          <option value={NULL_OPTION}>{placeholder ?? (nullable ? 'NULL' : 'Choose…')}</option>
        )}
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    );
  }
  if (kind === 'json' || kind === 'array') {
    return (
      <div className={cn('flex min-w-0 items-center gap-2', className)}>
        <Button
          id={id}
          type="button"
          variant="outline"
          size="sm"
          className="min-w-0 flex-1 justify-start font-mono text-xs"
          onClick={() => setJsonOpen(true)}
          {...aria}
        >
          <Braces aria-hidden />
          <span className="truncate">
            {text === '' ? (placeholder ?? (nullable ? 'NULL' : 'Edit JSON…')) : oneLine(text)}
          </span>
        </Button>
        <JsonDialog
          open={jsonOpen}
          onOpenChange={setJsonOpen}
          title={label}
          value={text === '' ? null : safeParse(text)}
          arrayOnly={kind === 'array'}
          nullable={nullable}
          onSave={(v) => {
            onText(v === null ? '' : JSON.stringify(v, null, 2));
            setJsonOpen(false);
          }}
        />
      </div>
    );
  }
  return (
    <div className={cn('flex min-w-0 items-center gap-1', className)}>
      <Input
        id={id}
        aria-label={id ? undefined : label}
        type={inputType(kind)}
        step={kind === 'timestamp' || kind === 'time' ? 1 : undefined}
        value={text}
        placeholder={placeholder ?? (nullable ? 'NULL' : undefined)}
        onChange={(e) => onText(e.target.value)}
        className={cn('min-w-0 flex-1', kind === 'uuid' && 'font-mono text-xs')}
        spellCheck={false}
        {...aria}
      />
      {fk && (
        <>
          <Button
            type="button"
            variant="outline"
            size="icon-sm"
            aria-label={`Pick a row of ${fk.table}`}
            title={`Pick a row of ${fk.table}`}
            onClick={() => setPickOpen(true)}
          >
            <Link2 aria-hidden />
          </Button>
          <FkPicker
            open={pickOpen}
            onOpenChange={setPickOpen}
            target={fk}
            onPick={(v) => {
              onText(displayValue(v));
              setPickOpen(false);
            }}
          />
        </>
      )}
    </div>
  );
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function oneLine(text: string): string {
  const s = text.replace(/\s+/g, ' ');
  return s.length > 120 ? `${s.slice(0, 120)}…` : s;
}
