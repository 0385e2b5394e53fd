/**
 * The session policy (PATCH /api/settings): an absolute lifetime for users' sessions, an
 * inactivity timeout, and one session per user. Each overrides its SESSION_* variable until
 * "Use the environment's values" removes the overrides.
 */
import { useEffect, useId, useState } from 'react';
import { Save, Undo2 } from 'lucide-react';
import { useApiMutation } from '../../lib/mutation';
import { api } from '../../lib/api';
import { queryKeys } from '../../lib/query';
import { Button } from '../../ui/button';
import { Checkbox } from '../../ui/checkbox';
import { Input, Label } from '../../ui/input';
import { Select } from '../../ui/select';
import { SourceBadge } from './source-badge';
import type { Settings, SettingsUpdate } from './hooks';

const UNITS = [
  { value: '60', label: 'minutes' },
  { value: '3600', label: 'hours' },
  { value: '86400', label: 'days' },
];
const MAX_SECONDS = 366 * 24 * 3600;

/** A duration as a number in the largest unit that divides it. */
function split(seconds: number): { amount: string; unit: string } {
  if (seconds === 0) return { amount: '0', unit: '3600' };
  const unit = [...UNITS].reverse().find((u) => seconds % Number(u.value) === 0) ?? UNITS[0]!;
  return { amount: String(seconds / Number(unit.value)), unit: unit.value };
}

function inWords(seconds: number): string {
  if (seconds === 0) return 'no limit';
  const { amount, unit } = split(seconds);
  const label = UNITS.find((u) => u.value === unit)!.label;
  return `${amount} ${amount === '1' ? label.slice(0, -1) : label}`;
}

function useSaveSessionPolicy() {
  return useApiMutation({
    mutationFn: (body: SettingsUpdate) => api.patch<Settings>('/api/settings', body),
    progress: 'Saving the session policy…',
    success: (_s, body) =>
      body.singleSessionPerUser === null
        ? 'Session policy: back to the environment’s values'
        : 'Session policy saved: applies from the next sign-in or refresh',
    invalidate: [queryKeys.settings.detail()],
  });
}

interface Duration {
  amount: string;
  unit: string;
}

/** Seconds, or a message saying what is wrong. */
function parse(d: Duration): number | string {
  if (!/^\d+$/.test(d.amount.trim())) return 'A whole number (0: no limit)';
  const seconds = Number(d.amount) * Number(d.unit);
  if (seconds > MAX_SECONDS) return 'At most a year';
  return seconds;
}

function DurationField({
  label,
  hint,
  value,
  onChange,
  error,
  setting,
}: {
  label: string;
  hint: string;
  value: Duration;
  onChange: (d: Duration) => void;
  error?: string;
  setting: Settings['runtime']['sessionMaxLifetimeSeconds'];
}) {
  const id = useId();
  return (
    <div className="flex flex-col gap-1.5">
      <Label htmlFor={id}>{label}</Label>
      <div className="flex gap-2">
        <div className="min-w-0 flex-1">
          <Input
            id={id}
            inputMode="numeric"
            aria-invalid={error ? true : undefined}
            aria-describedby={`${id}-hint`}
            value={value.amount}
            onChange={(e) => onChange({ ...value, amount: e.target.value })}
          />
        </div>
        <div className="w-32 shrink-0">
          <Select
            aria-label={`${label}: unit`}
            value={value.unit}
            onValueChange={(unit) => onChange({ ...value, unit })}
            options={UNITS}
          />
        </div>
      </div>
      {error ? (
        <p id={`${id}-hint`} role="alert" className="text-xs font-medium text-danger">
          {error}
        </p>
      ) : (
        <p id={`${id}-hint`} className="text-xs text-muted">
          {hint}
        </p>
      )}
      <p className="flex items-center gap-2 text-xs text-muted">
        Applies now: {inWords(setting.value)} <SourceBadge source={setting.source} />
      </p>
    </div>
  );
}

export function SessionPolicyForm({ runtime }: { runtime: Settings['runtime'] }) {
  const save = useSaveSessionPolicy();
  const initial = () => ({
    lifetime: split(runtime.sessionMaxLifetimeSeconds.value),
    idle: split(runtime.sessionInactivityTimeoutSeconds.value),
    single: runtime.singleSessionPerUser.value,
  });
  const [form, setForm] = useState(initial);
  const [touched, setTouched] = useState(false);
  // A newer copy from the server replaces an untouched form.
  useEffect(() => {
    if (!touched) setForm(initial());
  }, [runtime, touched]);
  const change = (patch: Partial<ReturnType<typeof initial>>) => {
    setTouched(true);
    setForm((f) => ({ ...f, ...patch }));
  };
  const lifetime = parse(form.lifetime);
  const idle = parse(form.idle);
  const valid = typeof lifetime === 'number' && typeof idle === 'number';
  const overridden = [
    runtime.sessionMaxLifetimeSeconds,
    runtime.sessionInactivityTimeoutSeconds,
    runtime.singleSessionPerUser,
  ].some((s) => s.source === 'runtime');

  const submit = async () => {
    if (!valid) return;
    await save
      .mutateAsync({
        sessionMaxLifetimeSeconds: lifetime,
        sessionInactivityTimeoutSeconds: idle,
        singleSessionPerUser: form.single,
      })
      .then(
        () => setTouched(false),
        () => {},
      );
  };
  const reset = async () => {
    await save
      .mutateAsync({
        sessionMaxLifetimeSeconds: null,
        sessionInactivityTimeoutSeconds: null,
        singleSessionPerUser: null,
      })
      .then(
        () => setTouched(false),
        () => {},
      );
  };

  return (
    <form
      className="flex flex-col gap-4"
      aria-label="Session policy"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <DurationField
        label="Absolute session lifetime"
        hint="A session ends this long after its sign-in, however often it is refreshed. 0: no limit."
        value={form.lifetime}
        onChange={(lifetime) => change({ lifetime })}
        error={typeof lifetime === 'string' && touched ? lifetime : undefined}
        setting={runtime.sessionMaxLifetimeSeconds}
      />
      <DurationField
        label="Inactivity timeout"
        hint="A session not refreshed for this long ends. 0: no limit."
        value={form.idle}
        onChange={(idle) => change({ idle })}
        error={typeof idle === 'string' && touched ? idle : undefined}
        setting={runtime.sessionInactivityTimeoutSeconds}
      />
      <div className="flex items-start gap-2">
        <Checkbox
          id="single-session"
          checked={form.single}
          onCheckedChange={(c) => change({ single: c === true })}
          className="mt-0.5"
        />
        <div>
          <Label htmlFor="single-session">One session per user</Label>
          <p className="text-xs text-muted">
            A new sign-in ends the user&apos;s other sessions at once (newest wins).
          </p>
          <p className="mt-1 flex items-center gap-2 text-xs text-muted">
            Applies now: {runtime.singleSessionPerUser.value ? 'on' : 'off'}{' '}
            <SourceBadge source={runtime.singleSessionPerUser.source} />
          </p>
        </div>
      </div>
      <div className="flex flex-wrap items-center justify-end gap-2">
        {overridden && (
          <Button
            type="button"
            variant="outline"
            onClick={() => void reset()}
            disabled={save.isPending}
          >
            <Undo2 aria-hidden /> Use the environment&apos;s values
          </Button>
        )}
        <Button type="submit" loading={save.isPending} disabled={!touched || !valid}>
          <Save aria-hidden /> Save session policy
        </Button>
      </div>
    </form>
  );
}
