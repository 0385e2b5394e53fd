/**
 * A cron expression in words. cronstrue is loaded on first use (its own chunk), so the page's
 * first load does not carry it. InsForge's "N seconds" form is explained here directly.
 */
import { useEffect, useState } from 'react';

type Describe = (expr: string) => string;
let loading: Promise<Describe> | undefined;

function loadDescriber(): Promise<Describe> {
  loading ??= import('cronstrue').then(
    (m) => (expr: string) =>
      m.default.toString(expr, {
        use24HourTimeFormat: true,
        verbose: false,
        throwExceptionOnParseError: true,
      }),
  );
  return loading;
}

const SECONDS = /^(\d{1,2})\s+seconds?$/i;

/** `{ text }` in words, `{ error }` when the expression cannot be read, `{}` while loading. */
export function useCronText(expr: string): { text?: string; error?: string } {
  const [state, setState] = useState<{ expr: string; text?: string; error?: string }>({ expr: '' });
  const trimmed = expr.trim();
  useEffect(() => {
    let live = true;
    const secs = SECONDS.exec(trimmed);
    if (!trimmed) {
      setState({ expr: trimmed });
      return;
    }
    if (secs) {
      setState({ expr: trimmed, text: `Every ${Number(secs[1])} seconds` });
      return;
    }
    void loadDescriber().then((describe) => {
      if (!live) return;
      try {
        setState({ expr: trimmed, text: describe(trimmed) });
      } catch (err) {
        setState({ expr: trimmed, error: typeof err === 'string' ? err : String(err) });
      }
    });
    return () => {
      live = false;
    };
  }, [trimmed]);
  return state.expr === trimmed ? { text: state.text, error: state.error } : {};
}
