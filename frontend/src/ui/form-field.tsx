import { cloneElement, isValidElement, useId } from 'react';
import { Label } from './input';

export interface FormFieldProps {
  label: string;
  /** The validation or API error for this field. */
  error?: string;
  hint?: React.ReactNode;
  /** One form control; it gets the id, aria-invalid and aria-describedby. */
  children: React.ReactElement<Record<string, unknown>>;
}

/** Label + control + hint + error, wired for screen readers. */
export function FormField({ label, error, hint, children }: FormFieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint && hintId, error && errorId].filter(Boolean).join(' ') || undefined;
  const control = isValidElement(children)
    ? cloneElement(children, {
        id,
        'aria-invalid': error ? true : undefined,
        'aria-describedby': describedBy,
      })
    : children;
  return (
    <div className="flex flex-col gap-1.5">
      <Label htmlFor={id}>{label}</Label>
      {control}
      {hint && !error && (
        <p id={hintId} className="text-xs text-muted">
          {hint}
        </p>
      )}
      {error && (
        <p id={errorId} role="alert" className="text-xs font-medium text-danger">
          {error}
        </p>
      )}
    </div>
  );
}
