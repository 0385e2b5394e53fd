/**
 * The realtime settings: how long stored messages are kept (PATCH /api/realtime/config), and the
 * secret and scheme webhook receivers verify each call with.
 */
import { useEffect, useState } from 'react';
import { Eye, EyeOff } from 'lucide-react';
import { Button } from '../../ui/button';
import { CopyButton } from '../../ui/copy-button';
import { ErrorPanel } from '../../ui/error-panel';
import { FormField } from '../../ui/form-field';
import { Input, Label } from '../../ui/input';
import { Card, Skeleton } from '../../ui/misc';
import { useRealtimeConfig, useUpdateRetention } from './hooks';

export function ConfigCard() {
  const config = useRealtimeConfig();
  const save = useUpdateRetention();
  const [days, setDays] = useState('');
  const [reveal, setReveal] = useState(false);
  useEffect(() => {
    if (config.data) setDays(String(config.data.retentionDays));
  }, [config.data]);
  const n = Number(days);
  const invalid = !Number.isInteger(n) || n < 1 || n > 3650;
  const c = config.data;

  return (
    <Card
      title="Retention and webhook signing"
      description="Stored messages older than the retention are deleted every hour, with their deliveries."
    >
      {config.error ? (
        <ErrorPanel error={config.error} onRetry={() => void config.refetch()} />
      ) : !c ? (
        <Skeleton className="h-24 w-full" />
      ) : (
        <div className="grid gap-6 lg:grid-cols-[16rem_minmax(0,1fr)]">
          <form
            className="flex items-start gap-2"
            onSubmit={(e) => {
              e.preventDefault();
              if (!invalid) void save.mutateAsync(n).catch(() => undefined);
            }}
          >
            <div className="w-36">
              <FormField label="Retention (days)" error={days && invalid ? '1 to 3650' : undefined}>
                <Input
                  type="number"
                  min={1}
                  max={3650}
                  value={days}
                  onChange={(e) => setDays(e.target.value)}
                />
              </FormField>
            </div>
            <Button
              type="submit"
              variant="outline"
              className="mt-6"
              loading={save.isPending}
              disabled={invalid || n === c.retentionDays}
            >
              Save
            </Button>
          </form>
          <div className="flex min-w-0 flex-col gap-1.5">
            <Label htmlFor="realtime-webhook-secret">Webhook secret</Label>
            <div className="flex items-center gap-1">
              <Input
                id="realtime-webhook-secret"
                readOnly
                type={reveal ? 'text' : 'password'}
                value={c.webhookSecret}
                className="font-mono text-xs"
                aria-describedby="realtime-webhook-signature"
              />
              <Button
                size="icon-sm"
                variant="ghost"
                aria-label={reveal ? 'Hide the webhook secret' : 'Show the webhook secret'}
                title={reveal ? 'Hide' : 'Show'}
                onClick={() => setReveal((r) => !r)}
              >
                {reveal ? <EyeOff aria-hidden /> : <Eye aria-hidden />}
              </Button>
              <CopyButton value={c.webhookSecret} label="the webhook secret" />
            </div>
            <p id="realtime-webhook-signature" className="text-xs break-words text-muted">
              Each call carries <span className="font-mono">{c.signature}</span>.
            </p>
          </div>
        </div>
      )}
    </Card>
  );
}
