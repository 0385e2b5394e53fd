/** Where a setting's value comes from, as a badge. */
import { Badge, type BadgeTone } from '../../ui/misc';
import type { SettingSource } from './hooks';

const looks: Record<SettingSource, { tone: BadgeTone; label: string; title: string }> = {
  runtime: {
    tone: 'primary',
    label: 'Set here',
    title: 'Set at run time from this page; overrides the environment',
  },
  environment: {
    tone: 'info',
    label: 'Environment',
    title: 'From an environment variable (or .env), read at start',
  },
  default: { tone: 'neutral', label: 'Default', title: "Kiln's default: nothing set it" },
};

export function SourceBadge({ source }: { source: SettingSource }) {
  const look = looks[source];
  return (
    <Badge tone={look.tone} title={look.title} data-testid="setting-source">
      {look.label}
    </Badge>
  );
}
