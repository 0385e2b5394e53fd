/**
 * The test panel: a request (method, path after the slug, headers, body) sent to the function's
 * real endpoint, and its answer: status, time, headers and body (JSON pretty-printed).
 */
import { useId, useState } from 'react';
import { Send } from 'lucide-react';
import { Button } from '../../ui/button';
import { ErrorPanel } from '../../ui/error-panel';
import { FormField } from '../../ui/form-field';
import { Input, Textarea } from '../../ui/input';
import { Badge, Card, EmptyState, type BadgeTone } from '../../ui/misc';
import { Select } from '../../ui/select';
import { type Invocation, useInvoke } from './hooks';

const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

/** "Name: value" lines as header pairs; the first line that is not one is the error. */
export function parseHeaders(text: string): { headers: [string, string][]; error?: string } {
  const headers: [string, string][] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line) continue;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      return { headers, error: `Line ${i + 1} is not "Name: value"` };
    }
    headers.push([name, line.slice(colon + 1).trim()]);
  }
  return { headers };
}

function statusTone(status: number): BadgeTone {
  if (status < 300) return 'success';
  if (status < 500) return 'warning';
  return 'danger';
}

function prettyBody(answer: Invocation): string {
  if (!answer.contentType.includes('json')) return answer.body;
  try {
    return JSON.stringify(JSON.parse(answer.body), null, 2);
  } catch {
    return answer.body;
  }
}

export function TestTab({ slug }: { slug: string }) {
  const id = useId();
  const [method, setMethod] = useState<string>('POST');
  const [path, setPath] = useState('/');
  const [headerText, setHeaderText] = useState('Content-Type: application/json');
  const [body, setBody] = useState('{\n  "name": "Kiln"\n}');
  const [headerError, setHeaderError] = useState<string | undefined>();
  const invoke = useInvoke(slug);
  const bodyless = method === 'GET' || method === 'HEAD';
  const answer = invoke.data;

  const send = (e: React.FormEvent) => {
    e.preventDefault();
    const parsed = parseHeaders(headerText);
    setHeaderError(parsed.error);
    if (parsed.error) return;
    invoke.mutate({ method, path, headers: parsed.headers, body });
  };

  return (
    <div className="grid min-w-0 gap-3 xl:grid-cols-2">
      <Card title="Request" description={`Sent to /functions/${slug} as any client would.`}>
        <form id={`${id}-form`} className="flex flex-col gap-4" onSubmit={send}>
          <div className="grid grid-cols-[8rem_minmax(0,1fr)] gap-3">
            <FormField label="Method">
              <Select
                value={method}
                onValueChange={setMethod}
                options={methods.map((m) => ({ value: m, label: m }))}
              />
            </FormField>
            <FormField label="Path" hint={`After /functions/${slug}; a query string may follow.`}>
              <Input
                value={path}
                onChange={(e) => setPath(e.target.value)}
                spellCheck={false}
                className="font-mono"
              />
            </FormField>
          </div>
          <FormField label="Headers" hint="One per line: Name: value" error={headerError}>
            <Textarea
              value={headerText}
              onChange={(e) => setHeaderText(e.target.value)}
              spellCheck={false}
              rows={3}
              className="font-mono text-xs"
            />
          </FormField>
          <FormField label="Body" hint={bodyless ? `${method} requests have no body.` : undefined}>
            <Textarea
              value={body}
              onChange={(e) => setBody(e.target.value)}
              disabled={bodyless}
              spellCheck={false}
              rows={6}
              className="font-mono text-xs"
            />
          </FormField>
          <div className="flex justify-end">
            <Button type="submit" loading={invoke.isPending}>
              {!invoke.isPending && <Send aria-hidden />} Send request
            </Button>
          </div>
        </form>
      </Card>

      <Card
        title="Response"
        actions={
          answer && (
            <div className="flex items-center gap-2" aria-label="Response summary">
              <Badge tone={statusTone(answer.status)}>
                Status {answer.status}
                {answer.statusText ? ` ${answer.statusText}` : ''}
              </Badge>
              <span className="text-xs text-muted tabular-nums">{answer.ms} ms</span>
            </div>
          )
        }
      >
        {invoke.error ? (
          <ErrorPanel error={invoke.error} title="The request did not complete" />
        ) : !answer ? (
          <EmptyState
            icon={Send}
            title="No response yet"
            description="Send the request: the function's status, headers, body and time show here."
          />
        ) : (
          <div className="flex flex-col gap-4">
            <section aria-labelledby={`${id}-body`}>
              <h3 id={`${id}-body`} className="mb-1.5 text-xs font-semibold text-muted uppercase">
                Body
              </h3>
              <pre
                aria-label="Response body"
                tabIndex={0}
                className="max-h-80 overflow-auto rounded-md border border-border bg-surface-2 p-3 font-mono text-xs whitespace-pre-wrap break-all"
              >
                {answer.body === '' ? '(empty)' : prettyBody(answer)}
              </pre>
            </section>
            <section aria-labelledby={`${id}-headers`}>
              <h3
                id={`${id}-headers`}
                className="mb-1.5 text-xs font-semibold text-muted uppercase"
              >
                Headers
              </h3>
              <dl
                aria-label="Response headers"
                className="grid grid-cols-[minmax(8rem,auto)_minmax(0,1fr)] gap-x-3 gap-y-1 font-mono text-xs"
              >
                {answer.headers.map(([name, value]) => (
                  <div key={name} className="contents">
                    <dt className="text-muted">{name}</dt>
                    <dd className="break-all">{value}</dd>
                  </div>
                ))}
              </dl>
            </section>
          </div>
        )}
      </Card>
    </div>
  );
}
