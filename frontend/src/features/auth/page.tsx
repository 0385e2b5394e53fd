/**
 * Authentication: users, the auth settings, OAuth providers, and email (SMTP and templates), one
 * tab each; the tab and each tab's state are in the URL (see ./search.ts).
 */
import { useMemo } from 'react';
import { createLazyRoute, getRouteApi } from '@tanstack/react-router';
import { KeyRound, Mail, SlidersHorizontal, Users } from 'lucide-react';
import { useRegisterCommands, type Command } from '../../lib/commands';
import { PageHeader } from '../../ui/misc';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '../../ui/tabs';
import { EmailTab } from './email-tab';
import { OAuthTab } from './oauth-tab';
import { authTabs, type AuthTab } from './search';
import { SettingsTab } from './settings-tab';
import { UsersTab } from './users-tab';

export const Route = createLazyRoute('/app/auth')({ component: AuthPage });

const route = getRouteApi('/app/auth');

const tabLabels: Record<
  AuthTab,
  { label: string; icon: React.ComponentType<{ className?: string }> }
> = {
  users: { label: 'Users', icon: Users },
  settings: { label: 'Settings', icon: SlidersHorizontal },
  oauth: { label: 'OAuth providers', icon: KeyRound },
  email: { label: 'Email', icon: Mail },
};

function AuthPage() {
  const { tab = 'users' } = route.useSearch();
  const navigate = route.useNavigate();
  const go = (next: AuthTab) => void navigate({ search: next === 'users' ? {} : { tab: next } });
  const commands = useMemo<Command[]>(
    () =>
      authTabs.map((t) => ({
        id: `auth-tab-${t}`,
        label: `Authentication: ${tabLabels[t].label}`,
        group: 'Authentication',
        icon: tabLabels[t].icon,
        keywords: ['auth', t],
        run: () => go(t),
      })),
    [],
  );
  useRegisterCommands('auth', commands);
  return (
    <>
      <PageHeader
        title="Authentication"
        description="Users, sessions, sign-in settings, OAuth providers, SMTP and email templates."
      />
      <Tabs value={tab} onValueChange={(v) => go(v as AuthTab)}>
        <TabsList className="mb-2 w-full">
          {authTabs.map((t) => {
            const { label, icon: Icon } = tabLabels[t];
            return (
              <TabsTrigger key={t} value={t} className="inline-flex items-center gap-1.5">
                <Icon className="size-4" aria-hidden /> {label}
              </TabsTrigger>
            );
          })}
        </TabsList>
        <TabsContent value="users">
          <UsersTab />
        </TabsContent>
        <TabsContent value="settings">
          <SettingsTab />
        </TabsContent>
        <TabsContent value="oauth">
          <OAuthTab />
        </TabsContent>
        <TabsContent value="email">
          <EmailTab />
        </TabsContent>
      </Tabs>
    </>
  );
}
