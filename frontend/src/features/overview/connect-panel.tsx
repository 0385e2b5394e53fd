/** "Connect": working snippets for the SDK, curl and PostgreSQL, with this project's URL and anon key. */
import { getRouteApi } from '@tanstack/react-router';
import { apiOrigin } from '../../lib/api';
import { CopyButton } from '../../ui/copy-button';
import { Card } from '../../ui/misc';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '../../ui/tabs';
import { useKey } from './hooks';
import { connectTabs, type ConnectTab } from './search';

const route = getRouteApi('/app/');

function Snippet({ code, label }: { code: string; label: string }) {
  return (
    <div className="relative">
      <pre
        tabIndex={0}
        aria-label={label.replace(/^the /, '')}
        className="overflow-x-auto rounded-md border border-border bg-surface-2 p-3 pr-10 font-mono text-xs leading-relaxed"
      >
        <code>{code}</code>
      </pre>
      <div className="absolute top-1.5 right-1.5">
        <CopyButton value={code} label={label} />
      </div>
    </div>
  );
}

export function ConnectPanel() {
  // The chosen snippet is URL state (?connect=curl), so a link shows the same tab.
  const { connect = 'sdk' } = route.useSearch();
  const navigate = route.useNavigate();
  const anon = useKey('anon');
  const anonKey = anon.data ?? '<anon key>';
  const sdk = `import { createClient } from '@insforge/sdk';

const kiln = createClient({
  baseUrl: '${apiOrigin}',
  anonKey: '${anonKey}',
});

const { data, error } = await kiln.database.from('todos').select('*').limit(10);`;
  const curl = `curl '${apiOrigin}/api/database/records/todos?limit=10' \\
  -H 'Authorization: Bearer ${anonKey}'`;
  return (
    <Card
      title="Connect"
      description="Use the anon key in apps; requests run under your RLS policies."
    >
      <Tabs
        value={connect}
        onValueChange={(v) =>
          void navigate({
            search: (s) => ({
              ...s,
              connect: (connectTabs as readonly string[]).includes(v)
                ? (v as ConnectTab)
                : undefined,
            }),
            replace: true,
          })
        }
      >
        <TabsList>
          <TabsTrigger value="sdk">SDK</TabsTrigger>
          <TabsTrigger value="curl">curl</TabsTrigger>
          <TabsTrigger value="postgres">PostgreSQL</TabsTrigger>
        </TabsList>
        <TabsContent value="sdk" className="flex flex-col gap-2">
          <p className="text-xs text-muted">
            Install with <code className="font-mono text-fg">npm install @insforge/sdk</code>.
          </p>
          <Snippet code={sdk} label="the SDK snippet" />
        </TabsContent>
        <TabsContent value="curl">
          <Snippet code={curl} label="the curl command" />
        </TabsContent>
        <TabsContent value="postgres" className="flex flex-col gap-2 text-sm">
          <p>
            Kiln does not hand out database credentials over its API. The connection string is the
            server&apos;s <code className="font-mono">DATABASE_URL</code> setting; with the embedded
            PostgreSQL (no <code className="font-mono">DATABASE_URL</code>), the server listens on
            loopback at <code className="font-mono">EMBEDDED_POSTGRES_PORT</code> (54329 by
            default), with its credentials under <code className="font-mono">DATA_DIR</code>.
          </p>
          <Snippet
            code={'psql "postgres://USER:PASSWORD@127.0.0.1:54329/kiln"'}
            label="the psql command"
          />
          <p className="text-xs text-muted">
            Prefer the SQL editor of this dashboard for one-off queries: it runs as the admin
            through the API.
          </p>
        </TabsContent>
      </Tabs>
    </Card>
  );
}
