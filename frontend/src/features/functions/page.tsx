/**
 * Functions: the edge functions (status, version, last deploy) and the secrets they get as their
 * environment. A function opens (?fn=) on its code (a TypeScript editor with Deno's diagnostics
 * at their line, save and deploy with its steps), a test panel calling its real endpoint, and its
 * live log. The tab, the open function and its view are in the URL (see ./search.ts).
 */
import { useMemo } from 'react';
import { createLazyRoute, getRouteApi, useNavigate } from '@tanstack/react-router';
import { KeyRound, SquareFunction } from 'lucide-react';
import { useRegisterCommands, type Command } from '../../lib/commands';
import { PageHeader } from '../../ui/misc';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '../../ui/tabs';
import { FunctionDetail } from './function-detail';
import { FunctionsList } from './functions-list';
import { useFunctions } from './hooks';
import { SecretsTab } from './secrets-tab';

export const Route = createLazyRoute('/app/functions')({ component: FunctionsPage });

const route = getRouteApi('/app/functions');

/** One palette entry per function, and the secrets tab, while the area is open. */
function useFunctionCommands() {
  const functions = useFunctions();
  const navigate = useNavigate();
  const commands = useMemo<Command[]>(
    () => [
      {
        id: 'functions-secrets',
        label: 'Functions: Secrets',
        group: 'Functions',
        icon: KeyRound,
        keywords: ['secrets', 'environment', 'env'],
        run: () => void navigate({ to: '/functions', search: { tab: 'secrets' } }),
      },
      ...(functions.data?.functions ?? []).map((f) => ({
        id: `function:${f.slug}`,
        group: 'Functions',
        label: f.name === f.slug ? f.slug : `${f.name} (${f.slug})`,
        keywords: ['function', 'edge', f.slug],
        icon: SquareFunction,
        run: () => void navigate({ to: '/functions', search: { fn: f.slug } }),
      })),
    ],
    [functions.data, navigate],
  );
  useRegisterCommands('functions', commands);
}

function FunctionsPage() {
  const { tab = 'functions', fn } = route.useSearch();
  const navigate = route.useNavigate();
  useFunctionCommands();
  if (fn && tab === 'functions') return <FunctionDetail key={fn} slug={fn} />;
  return (
    <>
      <PageHeader
        title="Functions"
        description="Edge functions run your TypeScript on Deno at /functions/<slug>; secrets are their environment."
      />
      <Tabs
        value={tab}
        onValueChange={(v) => void navigate({ search: v === 'secrets' ? { tab: 'secrets' } : {} })}
      >
        <TabsList className="mb-2 w-full">
          <TabsTrigger value="functions" className="inline-flex items-center gap-1.5">
            <SquareFunction className="size-4" aria-hidden /> Functions
          </TabsTrigger>
          <TabsTrigger value="secrets" className="inline-flex items-center gap-1.5">
            <KeyRound className="size-4" aria-hidden /> Secrets
          </TabsTrigger>
        </TabsList>
        <TabsContent value="functions">
          <FunctionsList />
        </TabsContent>
        <TabsContent value="secrets">
          <SecretsTab />
        </TabsContent>
      </Tabs>
    </>
  );
}
