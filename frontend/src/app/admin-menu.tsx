/** The signed-in admin's menu (top right): sessions, sign out. */
import { useState } from 'react';
import { useNavigate } from '@tanstack/react-router';
import { LogOut, MonitorSmartphone, UserRound } from 'lucide-react';
import { currentAdmin, signOut } from '../lib/api';
import { queryClient } from '../lib/query';
import { Button } from '../ui/button';
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from '../ui/menu';
import { SessionsDialog } from './sessions-dialog';

export function useSignOut() {
  const navigate = useNavigate();
  return async () => {
    await signOut().catch(() => undefined);
    queryClient.clear();
    await navigate({ to: '/sign-in', search: { redirect: undefined, expired: undefined } });
  };
}

export function AdminMenu({
  sessionsOpen,
  onSessionsOpenChange,
}: {
  sessionsOpen: boolean;
  onSessionsOpenChange: (open: boolean) => void;
}) {
  const admin = currentAdmin();
  const doSignOut = useSignOut();
  const [busy, setBusy] = useState(false);
  return (
    <>
      <DropdownMenu>
        <DropdownMenuTrigger asChild>
          <Button variant="ghost" size="md" aria-label="Admin menu" loading={busy}>
            <UserRound aria-hidden />
            <span className="max-w-48 truncate">{admin?.email ?? 'Admin'}</span>
          </Button>
        </DropdownMenuTrigger>
        <DropdownMenuContent align="end" className="w-60">
          <DropdownMenuLabel>
            Signed in as
            <span className="block truncate text-sm font-medium text-fg">{admin?.email}</span>
          </DropdownMenuLabel>
          <DropdownMenuSeparator />
          <DropdownMenuItem onSelect={() => onSessionsOpenChange(true)}>
            <MonitorSmartphone aria-hidden /> Admin sessions…
          </DropdownMenuItem>
          <DropdownMenuItem
            destructive
            onSelect={() => {
              setBusy(true);
              void doSignOut().finally(() => setBusy(false));
            }}
          >
            <LogOut aria-hidden /> Sign out
          </DropdownMenuItem>
        </DropdownMenuContent>
      </DropdownMenu>
      <SessionsDialog open={sessionsOpen} onOpenChange={onSessionsOpenChange} />
    </>
  );
}
