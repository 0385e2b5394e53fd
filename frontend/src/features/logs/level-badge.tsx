import { Badge, type BadgeTone } from '../../ui/misc';

const tones: Record<string, BadgeTone> = { error: 'danger', warn: 'warning', info: 'info' };

/** A line's level, coloured by severity. */
export function LevelBadge({ level }: { level: string }) {
  return <Badge tone={tones[level] ?? 'neutral'}>{level}</Badge>;
}
