/**
 * The playground: a streamed chat with one of the chat models users may call (the picker is the
 * URL's ?model=), optional sampling settings and tools, each answer's tool calls and token
 * counts, and the conversation's total. Calls are the admin's (not limited) and are recorded in
 * Usage like any other.
 */
import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { getRouteApi, Link } from '@tanstack/react-router';
import { Bot, Eraser, MessagesSquare, Send, Square, User, Wrench } from 'lucide-react';
import { cn } from '../../lib/cn';
import { formatCount } from '../../lib/format';
import { Button } from '../../ui/button';
import { Switch } from '../../ui/checkbox';
import { ErrorPanel } from '../../ui/error-panel';
import { FormField } from '../../ui/form-field';
import { Input, Label, Textarea } from '../../ui/input';
import { Badge, Card, EmptyState, Skeleton } from '../../ui/misc';
import { Select } from '../../ui/select';
import {
  useAiConfig,
  useAiModels,
  useChat,
  type AiModel,
  type ChatMessage,
  type ChatOptions,
} from './hooks';

const route = getRouteApi('/app/ai');

/** A tool to try tool calling with, as the chat request's `tools` take it. */
const SAMPLE_TOOLS = JSON.stringify(
  [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'The current weather in a city',
        parameters: {
          type: 'object',
          properties: { city: { type: 'string' } },
          required: ['city'],
        },
      },
    },
  ],
  null,
  2,
);

/** Models a chat may use: enabled for chat and answering text. */
export function chatModels(models: AiModel[] | undefined): AiModel[] {
  return (models ?? []).filter((m) => m.enabled.chat && m.outputModality.includes('text'));
}

function parseTools(text: string): { tools?: ChatOptions['tools']; error?: string } {
  try {
    const value: unknown = JSON.parse(text);
    if (
      !Array.isArray(value) ||
      !value.every(
        (t) =>
          t !== null &&
          typeof t === 'object' &&
          (t as { type?: unknown }).type === 'function' &&
          typeof (t as { function?: { name?: unknown } }).function?.name === 'string',
      )
    )
      return { error: 'An array of {"type": "function", "function": {"name": …}} tools' };
    return { tools: value as ChatOptions['tools'] };
  } catch (err) {
    return { error: `Not JSON: ${(err as Error).message}` };
  }
}

function optionalNumber(text: string): number | undefined {
  return text.trim() === '' ? undefined : Number(text);
}

export function PlaygroundTab({ chat }: { chat: ReturnType<typeof useChat> }) {
  const config = useAiConfig();
  const configured = config.data?.upstream.configured;
  const models = useAiModels(configured === true);
  if (config.error) {
    return <ErrorPanel error={config.error} onRetry={() => void config.refetch()} />;
  }
  if (!config.data) return <Skeleton className="h-96 w-full" />;
  if (!configured) {
    return (
      <Card>
        <EmptyState
          icon={MessagesSquare}
          title="No AI upstream is configured"
          description="Set OPENROUTER_API_KEY, or AI_BASE_URL (and AI_API_KEY) for another OpenAI-compatible server such as Ollama, then restart Kiln."
        />
      </Card>
    );
  }
  if (models.error) {
    return (
      <ErrorPanel
        title="The upstream's models could not be listed"
        error={models.error}
        onRetry={() => void models.refetch()}
      />
    );
  }
  if (!models.data) return <Skeleton className="h-96 w-full" />;
  return (
    <Playground
      chat={chat}
      models={chatModels(models.data)}
      defaultModel={config.data.defaultModels.chat}
      systemPrompt={config.data.systemPrompt}
    />
  );
}

function Playground({
  chat,
  models,
  defaultModel,
  systemPrompt,
}: {
  chat: ReturnType<typeof useChat>;
  models: AiModel[];
  defaultModel?: string;
  systemPrompt: string | null;
}) {
  const id = useId();
  const { model: wanted } = route.useSearch();
  const navigate = route.useNavigate();
  const options = useMemo(() => models.map((m) => ({ value: m.id, label: m.id })), [models]);
  const model =
    [wanted, defaultModel].find((m) => m && models.some((x) => x.id === m)) ?? models[0]?.id;
  const [text, setText] = useState('');
  const [temperature, setTemperature] = useState('');
  const [maxTokens, setMaxTokens] = useState('');
  const [toolsOn, setToolsOn] = useState(false);
  const [toolsText, setToolsText] = useState(SAMPLE_TOOLS);
  const [toolsError, setToolsError] = useState<string>();
  const logRef = useRef<HTMLDivElement>(null);
  const { messages, streaming, send, stop, clear } = chat;

  // Follow the answer as it grows.
  const last = messages.at(-1);
  useEffect(() => {
    const el = logRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [messages.length, last?.content, last?.toolCalls]);

  const totals = messages.reduce(
    (t, m) => ({
      prompt: t.prompt + (m.usage?.promptTokens ?? 0),
      completion: t.completion + (m.usage?.completionTokens ?? 0),
      total: t.total + (m.usage?.totalTokens ?? 0),
    }),
    { prompt: 0, completion: 0, total: 0 },
  );

  const temperatureValue = optionalNumber(temperature);
  const temperatureError =
    temperatureValue !== undefined && !(temperatureValue >= 0 && temperatureValue <= 2)
      ? '0 to 2'
      : undefined;
  const maxTokensValue = optionalNumber(maxTokens);
  const maxTokensError =
    maxTokensValue !== undefined && !(Number.isInteger(maxTokensValue) && maxTokensValue > 0)
      ? 'A whole number above 0'
      : undefined;

  const submit = () => {
    const message = text.trim();
    if (!message || !model || streaming || temperatureError || maxTokensError) return;
    let tools: ChatOptions['tools'];
    if (toolsOn) {
      const parsed = parseTools(toolsText);
      setToolsError(parsed.error);
      if (parsed.error) return;
      tools = parsed.tools;
    }
    setText('');
    void send(
      message,
      { model, temperature: temperatureValue, maxTokens: maxTokensValue, tools },
      messages,
    );
  };

  if (!models.length) {
    return (
      <Card>
        <EmptyState
          icon={MessagesSquare}
          title="No chat model is enabled"
          description={
            <>
              Enable one in{' '}
              <Link to="/ai" search={{ tab: 'config' }} className="text-primary hover:underline">
                Configuration
              </Link>
              .
            </>
          }
        />
      </Card>
    );
  }

  return (
    <div className="flex flex-col gap-4">
      <Card
        title="Settings"
        description="Sent with each message; blank fields use the model's defaults."
      >
        <div className="grid grid-cols-[minmax(0,2fr)_minmax(0,1fr)_minmax(0,1fr)] gap-3">
          <FormField label="Model">
            <Select
              value={model ?? ''}
              onValueChange={(v) => void navigate({ search: (s) => ({ ...s, model: v }) })}
              options={options}
            />
          </FormField>
          <FormField label="Temperature" error={temperatureError}>
            <Input
              type="number"
              inputMode="decimal"
              min={0}
              max={2}
              step={0.1}
              placeholder="Default"
              value={temperature}
              onChange={(e) => setTemperature(e.target.value)}
            />
          </FormField>
          <FormField label="Max tokens" error={maxTokensError}>
            <Input
              type="number"
              inputMode="numeric"
              min={1}
              placeholder="Default"
              value={maxTokens}
              onChange={(e) => setMaxTokens(e.target.value)}
            />
          </FormField>
        </div>
        <div className="mt-4 flex items-start justify-between gap-4">
          <div className="min-w-0">
            <Label htmlFor={`${id}-tools`}>Offer tools</Label>
            <p id={`${id}-tools-hint`} className="mt-0.5 text-xs text-muted">
              The model may answer with calls to these functions instead of text; the calls are
              shown, not run.
            </p>
          </div>
          <Switch
            id={`${id}-tools`}
            aria-describedby={`${id}-tools-hint`}
            checked={toolsOn}
            onCheckedChange={setToolsOn}
          />
        </div>
        {toolsOn && (
          <div className="mt-3">
            <FormField
              label="Tools (JSON)"
              error={toolsError}
              hint="OpenAI's tool format: an array of function definitions."
            >
              <Textarea
                className="min-h-40 font-mono text-xs"
                spellCheck={false}
                value={toolsText}
                onChange={(e) => setToolsText(e.target.value)}
              />
            </FormField>
          </div>
        )}
        {systemPrompt && (
          <p className="mt-4 text-xs text-muted">
            The system prompt from Configuration goes first in every call:{' '}
            <span className="text-fg italic" title={systemPrompt}>
              {systemPrompt.length > 140 ? `${systemPrompt.slice(0, 140)}…` : systemPrompt}
            </span>
          </p>
        )}
      </Card>

      <Card
        title="Conversation"
        description={
          totals.total > 0
            ? `${formatCount(totals.total)} tokens so far (${formatCount(totals.prompt)} prompt, ${formatCount(totals.completion)} completion)`
            : 'Streamed from POST /api/ai/chat/completion, as your users’ apps receive it.'
        }
        actions={
          <Button size="sm" variant="outline" onClick={clear} disabled={messages.length === 0}>
            <Eraser aria-hidden /> Clear
          </Button>
        }
      >
        <div
          ref={logRef}
          role="log"
          aria-label="Conversation"
          className="flex max-h-[28rem] min-h-48 flex-col gap-3 overflow-y-auto"
        >
          {messages.length === 0 ? (
            <EmptyState
              icon={MessagesSquare}
              title="Say something to the model"
              description="The answer streams in as the upstream writes it, with its tool calls and token counts."
            />
          ) : (
            messages.map((m) => <Message key={m.id} message={m} />)
          )}
        </div>
        <form
          className="mt-4 flex items-end gap-2 border-t border-border pt-4"
          onSubmit={(e) => {
            e.preventDefault();
            submit();
          }}
        >
          <div className="min-w-0 flex-1">
            <FormField label="Message" hint="Enter sends, Shift+Enter starts a new line.">
              <Textarea
                className="min-h-16"
                rows={2}
                value={text}
                placeholder="Ask the model something"
                onChange={(e) => setText(e.target.value)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
                    e.preventDefault();
                    submit();
                  }
                }}
              />
            </FormField>
          </div>
          <div className="mb-5">
            {streaming ? (
              <Button variant="outline" onClick={stop}>
                <Square aria-hidden /> Stop
              </Button>
            ) : (
              <Button type="submit" disabled={!text.trim()}>
                <Send aria-hidden /> Send
              </Button>
            )}
          </div>
        </form>
      </Card>
    </div>
  );
}

function prettyArguments(args: string): string {
  try {
    return JSON.stringify(JSON.parse(args), null, 2);
  } catch {
    return args;
  }
}

function Message({ message: m }: { message: ChatMessage }) {
  const mine = m.role === 'user';
  const Icon = mine ? User : Bot;
  return (
    <article
      aria-label={mine ? 'You' : 'Assistant'}
      aria-busy={m.streaming || undefined}
      className={cn(
        'flex gap-3 rounded-lg border p-3',
        mine ? 'border-border bg-surface-2' : 'border-border bg-surface',
      )}
    >
      <div
        className={cn(
          'grid size-7 shrink-0 place-items-center rounded-full',
          mine ? 'bg-surface text-muted' : 'bg-accent text-primary',
        )}
      >
        <Icon className="size-4" aria-hidden />
      </div>
      <div className="min-w-0 flex-1">
        <div className="mb-1 flex flex-wrap items-center gap-2 text-xs text-muted">
          <span className="font-medium text-fg">{mine ? 'You' : (m.model ?? 'Assistant')}</span>
          {m.streaming && <Badge tone="info">streaming…</Badge>}
          {m.stopped && <Badge tone="warning">stopped</Badge>}
        </div>
        {(m.content || (m.streaming && !m.toolCalls)) && (
          <p data-role="content" className="text-sm break-words whitespace-pre-wrap text-fg">
            {m.content}
            {m.streaming && (
              <span
                className="ml-0.5 inline-block h-4 w-1.5 animate-pulse bg-muted align-text-bottom"
                aria-hidden
              />
            )}
          </p>
        )}
        {m.toolCalls?.map((call, i) => (
          <section
            key={call.id || i}
            aria-label={`Tool call ${call.function.name}`}
            className="mt-2 rounded-md border border-border bg-surface-2"
          >
            <header className="flex items-center gap-2 border-b border-border px-3 py-1.5 text-xs">
              <Wrench className="size-3.5 text-muted" aria-hidden />
              <span className="text-muted">Tool call</span>
              <span className="font-mono font-medium text-fg">{call.function.name}</span>
              {call.id && <span className="ml-auto font-mono text-muted">{call.id}</span>}
            </header>
            <pre className="overflow-x-auto px-3 py-2 font-mono text-xs text-fg">
              {prettyArguments(call.function.arguments)}
            </pre>
          </section>
        ))}
        {m.error && (
          <p role="alert" className="mt-2 text-sm font-medium text-danger">
            {m.error}
          </p>
        )}
        {m.usage && (
          <p className="mt-2 text-xs text-muted tabular-nums">
            {formatCount(m.usage.promptTokens)} prompt · {formatCount(m.usage.completionTokens)}{' '}
            completion · {formatCount(m.usage.totalTokens)} tokens
          </p>
        )}
      </div>
    </article>
  );
}
