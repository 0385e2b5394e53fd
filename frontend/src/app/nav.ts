/** The sidebar's areas, in order; the command palette lists the same pages. */
import {
  ArchiveRestore,
  Bot,
  CreditCard,
  Database,
  Gauge,
  HardDrive,
  KeyRound,
  ListChecks,
  Radio,
  ScrollText,
  Settings,
  ShieldCheck,
  SquareFunction,
  SquareTerminal,
  Webhook,
} from 'lucide-react';

export interface NavItem {
  to:
    | '/'
    | '/database'
    | '/sql'
    | '/auth'
    | '/advisor'
    | '/storage'
    | '/logs'
    | '/ai'
    | '/realtime'
    | '/webhooks'
    | '/payments'
    | '/functions'
    | '/jobs'
    | '/backups'
    | '/settings';
  label: string;
  icon: React.ComponentType<{ className?: string }>;
  keywords?: string[];
}

export const navItems: NavItem[] = [
  { to: '/', label: 'Overview', icon: Gauge, keywords: ['home', 'keys', 'connect', 'health'] },
  { to: '/database', label: 'Database', icon: Database, keywords: ['tables', 'rows', 'schema'] },
  { to: '/sql', label: 'SQL editor', icon: SquareTerminal, keywords: ['query', 'snippets'] },
  { to: '/auth', label: 'Authentication', icon: KeyRound, keywords: ['users', 'oauth', 'smtp'] },
  {
    to: '/storage',
    label: 'Storage',
    icon: HardDrive,
    keywords: ['buckets', 'files', 'upload'],
  },
  {
    to: '/realtime',
    label: 'Realtime',
    icon: Radio,
    keywords: ['channels', 'websocket', 'webhooks', 'messages'],
  },
  {
    to: '/webhooks',
    label: 'Webhooks',
    icon: Webhook,
    keywords: ['incoming', 'github', 'stripe', 'svix', 'signature', 'deliveries'],
  },
  {
    to: '/payments',
    label: 'Payments',
    icon: CreditCard,
    keywords: ['stripe', 'razorpay', 'billing', 'subscriptions', 'checkout', 'customers'],
  },
  { to: '/ai', label: 'AI', icon: Bot, keywords: ['models', 'chat', 'playground', 'usage'] },
  {
    to: '/functions',
    label: 'Functions',
    icon: SquareFunction,
    keywords: ['edge', 'deno', 'secrets', 'deploy'],
  },
  {
    to: '/jobs',
    label: 'Jobs',
    icon: ListChecks,
    keywords: ['queues', 'schedules', 'cron', 'retry', 'failures', 'background'],
  },
  {
    to: '/backups',
    label: 'Backups',
    icon: ArchiveRestore,
    keywords: ['restore', 'point in time', 'pitr', 'wal', 'download', 'archive'],
  },
  { to: '/advisor', label: 'Advisor', icon: ShieldCheck, keywords: ['lint', 'security', 'rls'] },
  { to: '/logs', label: 'Logs', icon: ScrollText, keywords: ['audit', 'requests', 'errors'] },
  {
    to: '/settings',
    label: 'Settings',
    icon: Settings,
    keywords: ['keys', 'rotate', 'cors', 'environment', 'url'],
  },
];
