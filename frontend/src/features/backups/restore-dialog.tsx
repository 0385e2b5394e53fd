/**
 * "Restore to a point in time": a time (UTC, the browser's local time beside it) inside the
 * restorable range, checked before anything is sent, a typed confirmation, then
 * POST /api/backups/restore. The server answers with a job (the page follows it) or, when it
 * restores only with Kiln stopped, RESTORE_NEEDS_CLI with the command, shown here to copy.
 */
import { useState } from 'react';
import { AlertTriangle, Terminal } from 'lucide-react';
import { isApiError } from '../../lib/api';
import { Button } from '../../ui/button';
import { CopyButton } from '../../ui/copy-button';
import { Dialog, DialogContent } from '../../ui/dialog';
import { ErrorPanel } from '../../ui/error-panel';
import { FormField } from '../../ui/form-field';
import { Input } from '../../ui/input';
import { restoreTo, type BackupJob } from './hooks';
import { formatLocal, formatUtc, fromUtcInput, toUtcInput } from './format';

const CONFIRM_WORD = 'restore';

/** The time entered, checked against the range; the reason when it cannot be sent. */
export function checkTarget(
  value: string,
  from: string,
  now = new Date(),
): { date: Date } | { error: string } {
  if (!value) return { error: 'Choose the time to go back to' };
  const date = fromUtcInput(value);
  if (!date) return { error: 'Enter a date and time like 2026-12-01 10:15:00' };
  if (date.getTime() < new Date(from).getTime()) {
    return { error: `Too early: the oldest backup reaches back to ${formatUtc(from)}` };
  }
  if (date.getTime() > now.getTime()) return { error: 'That time is in the future' };
  return { date };
}

export function RestoreDialog({
  open,
  onOpenChange,
  from,
  onStarted,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  /** The restorable range's start (ISO). */
  from: string;
  onStarted: (job: BackupJob) => void;
}) {
  const [value, setValue] = useState('');
  const [typed, setTyped] = useState('');
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>();
  const [cli, setCli] = useState<{ message: string; command: string; lead: boolean }>();
  const check = checkTarget(value, from);
  const fieldError = touched && 'error' in check ? check.error : undefined;
  const preview = 'date' in check ? check.date : fromUtcInput(value);

  const reset = () => {
    setValue('');
    setTyped('');
    setTouched(false);
    setFailure(undefined);
    setCli(undefined);
  };
  const change = (next: boolean) => {
    if (busy) return;
    if (!next) reset();
    onOpenChange(next);
  };

  const submit = async () => {
    setTouched(true);
    setFailure(undefined);
    setCli(undefined);
    if ('error' in check || typed !== CONFIRM_WORD) return;
    setBusy(true);
    try {
      const job = await restoreTo(check.date.toISOString());
      reset();
      onOpenChange(false);
      onStarted(job);
    } catch (err) {
      if (isApiError(err) && err.code === 'RESTORE_NEEDS_CLI') {
        const hint = err.nextActions ?? '';
        const command = /(pnpm kiln restore .*)$/.exec(hint)?.[1];
        setCli({ message: err.message, command: command ?? hint, lead: !!command });
      } else {
        setFailure(err);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog open={open} onOpenChange={change}>
      <DialogContent
        title="Restore to a point in time"
        description="The database goes back to how it was at the time you choose."
        size="md"
        footer={
          <>
            <Button variant="outline" onClick={() => change(false)} disabled={busy}>
              {cli ? 'Close' : 'Cancel'}
            </Button>
            {!cli && (
              <Button
                variant="danger"
                onClick={() => void submit()}
                loading={busy}
                disabled={typed !== CONFIRM_WORD}
              >
                Restore database
              </Button>
            )}
          </>
        }
      >
        <form
          className="flex flex-col gap-4"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <FormField
            label="Restore to (UTC)"
            error={fieldError}
            hint={
              <>
                <span className="block">From {formatUtc(from)} to now.</span>
                {preview && (
                  <span className="block">
                    <span className="text-fg tabular-nums">{formatUtc(preview.toISOString())}</span>
                    {' · your local time: '}
                    <span className="text-fg">{formatLocal(preview)}</span>
                  </span>
                )}
              </>
            }
          >
            <Input
              type="datetime-local"
              step={1}
              min={toUtcInput(new Date(from))}
              max={toUtcInput(new Date())}
              value={value}
              onChange={(e) => {
                setValue(e.target.value);
                setCli(undefined);
              }}
              onBlur={() => setTouched(true)}
              className="font-mono tabular-nums"
            />
          </FormField>
          <div
            role="note"
            className="flex gap-3 rounded-md border border-danger/40 bg-danger-soft p-3 text-sm"
          >
            <AlertTriangle className="mt-0.5 size-4 shrink-0 text-danger" aria-hidden />
            <div className="flex flex-col gap-1 text-fg">
              <p className="font-semibold">This replaces the database.</p>
              <p>
                Everything written after the chosen time is lost, and API requests answer 503 while
                the restore runs. Download a backup first if you may need today&apos;s data.
              </p>
            </div>
          </div>
          <FormField label={`Type ${CONFIRM_WORD} to confirm`}>
            <Input
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
              autoComplete="off"
              spellCheck={false}
            />
          </FormField>
          {cli && (
            <div
              role="status"
              className="flex flex-col gap-2 rounded-md border border-border bg-surface-2 p-3 text-sm"
            >
              <p className="flex items-center gap-2 font-semibold">
                <Terminal className="size-4 text-muted" aria-hidden /> Run the restore from the
                command line
              </p>
              <p className="text-muted">
                {cli.message.replace(/\.?$/, '.')}
                {cli.lead && ' Stop Kiln, then run:'}
              </p>
              <div className="flex items-center gap-2 rounded border border-border bg-surface px-2 py-1.5">
                <code className="min-w-0 flex-1 font-mono text-xs break-all">{cli.command}</code>
                <CopyButton value={cli.command} label="restore command" />
              </div>
            </div>
          )}
          {failure !== undefined && (
            <ErrorPanel error={failure} title="The restore did not start" />
          )}
          {/* Enter in a field submits. */}
          <button type="submit" hidden />
        </form>
      </DialogContent>
    </Dialog>
  );
}
