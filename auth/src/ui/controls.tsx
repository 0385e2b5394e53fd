/**
 * The pages' few controls. A field always reserves the line of its error message, so an error
 * appearing moves nothing; the message is tied to the input (aria-describedby, aria-invalid)
 * and announced (aria-live).
 */
import {
  useId,
  useState,
  type ButtonHTMLAttributes,
  type InputHTMLAttributes,
  type ReactNode,
} from 'react';
import { useI18n } from '../lib/i18n';

export function Field({
  label,
  error,
  hint,
  reveal,
  ...input
}: InputHTMLAttributes<HTMLInputElement> & {
  label: string;
  error?: string | undefined;
  hint?: ReactNode;
  /** A password input with a show/hide button. */
  reveal?: boolean;
}) {
  const id = useId();
  const { t } = useI18n();
  const [shown, setShown] = useState(false);
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : undefined;
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className="text-sm font-medium">
        {label}
      </label>
      <div className="relative">
        <input
          id={id}
          {...input}
          type={reveal ? (shown ? 'text' : 'password') : input.type}
          aria-invalid={error ? true : undefined}
          aria-describedby={[hintId, errorId].filter(Boolean).join(' ')}
          className={`${input.className ?? ''} w-full rounded-md border bg-white px-3 py-2 text-base outline-none focus-visible:ring-2 ring-brand dark:bg-zinc-900 ${
            error ? 'border-red-600 dark:border-red-400' : 'border-zinc-300 dark:border-zinc-700'
          } ${reveal ? 'pr-11' : ''}`}
        />
        {reveal && (
          <button
            type="button"
            onClick={() => setShown((s) => !s)}
            aria-label={t('common.showPassword')}
            aria-pressed={shown}
            title={shown ? t('common.hidePassword') : t('common.showPassword')}
            className="absolute top-1/2 right-1.5 -translate-y-1/2 rounded p-1.5 text-zinc-600 hover:bg-zinc-100 focus-visible:ring-2 ring-brand outline-none dark:text-zinc-300 dark:hover:bg-zinc-800"
          >
            <svg
              aria-hidden="true"
              width="18"
              height="18"
              viewBox="0 0 24 24"
              fill="none"
              stroke="currentColor"
              strokeWidth="2"
              strokeLinecap="round"
            >
              <path d="M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12z" />
              <circle cx="12" cy="12" r="3" />
              {shown && <path d="M3 3l18 18" />}
            </svg>
          </button>
        )}
      </div>
      <p
        id={errorId}
        aria-live="polite"
        className="min-h-5 text-sm leading-5 text-red-700 dark:text-red-400"
      >
        {error ?? ''}
      </p>
      {hint && (
        <div id={hintId} className="-mt-0.5 mb-1 text-sm text-zinc-600 dark:text-zinc-400">
          {hint}
        </div>
      )}
    </div>
  );
}

/** A code from a message or an app: digits only, pasted text cleaned ("123 456", "123-456"). */
export function CodeField(
  props: Omit<InputHTMLAttributes<HTMLInputElement>, 'onChange'> & {
    label: string;
    error?: string | undefined;
    value: string;
    onChange: (value: string) => void;
    /** Recovery codes have letters and dashes. */
    free?: boolean;
  },
) {
  const { onChange, free, ...rest } = props;
  const clean = (v: string) => (free ? v.trim() : v.replace(/\D/g, '').slice(0, 6));
  return (
    <Field
      {...rest}
      inputMode={free ? 'text' : 'numeric'}
      autoComplete="one-time-code"
      spellCheck={false}
      maxLength={free ? 64 : 12}
      className="tracking-widest"
      onChange={(e) => onChange(clean(e.target.value))}
      onPaste={(e) => {
        e.preventDefault();
        onChange(clean(e.clipboardData.getData('text')));
      }}
    />
  );
}

export function Button({
  variant = 'primary',
  busy,
  children,
  ...props
}: ButtonHTMLAttributes<HTMLButtonElement> & {
  variant?: 'primary' | 'secondary' | 'danger' | 'link';
  busy?: boolean;
}) {
  const { t } = useI18n();
  const styles = {
    primary: 'bg-brand text-on-brand hover:brightness-110 w-full justify-center px-4 py-2',
    secondary:
      'border border-zinc-300 bg-white hover:bg-zinc-50 dark:border-zinc-700 dark:bg-zinc-900 dark:hover:bg-zinc-800 w-full justify-center px-4 py-2',
    danger: 'bg-red-700 text-white hover:bg-red-800 px-4 py-2',
    link: 'text-brand underline-offset-2 hover:underline px-0 py-0',
  }[variant];
  return (
    <button
      type={props.type ?? 'button'}
      {...props}
      disabled={props.disabled || busy}
      aria-busy={busy || undefined}
      className={`inline-flex items-center gap-2 rounded-md text-sm font-medium outline-none focus-visible:ring-2 focus-visible:ring-offset-2 ring-brand disabled:cursor-not-allowed disabled:opacity-60 dark:ring-offset-zinc-950 ${styles} ${props.className ?? ''}`}
    >
      {busy ? t('common.working') : children}
    </button>
  );
}

/** A form-level message (announced); its space is kept so nothing moves when one appears. */
export function FormMessage({
  error,
  info,
}: {
  error?: string | undefined;
  info?: string | undefined;
}) {
  return (
    <div aria-live="polite" role={error ? 'alert' : 'status'} className="min-h-5 text-sm leading-5">
      {error ? (
        <p className="text-red-700 dark:text-red-400">{error}</p>
      ) : info ? (
        <p className="text-emerald-700 dark:text-emerald-400">{info}</p>
      ) : null}
    </div>
  );
}

export function Divider({ label }: { label: string }) {
  return (
    <div
      className="flex items-center gap-3 text-xs text-zinc-500 uppercase dark:text-zinc-400"
      role="separator"
    >
      <span className="h-px flex-1 bg-zinc-200 dark:bg-zinc-800" />
      {label}
      <span className="h-px flex-1 bg-zinc-200 dark:bg-zinc-800" />
    </div>
  );
}
