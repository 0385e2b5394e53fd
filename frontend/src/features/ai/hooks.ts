/**
 * The AI area's reads and writes: the gateway's settings (GET|PUT /api/ai/config), the upstream's
 * models, the usage overview, and the playground's streamed chat (POST /api/ai/chat/completion
 * with `stream: true`, read as it arrives).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import type {
  AiChatRequest,
  AiConfig,
  AiConfigResponse,
  AiModelsResponse,
  AiOverviewResponse,
  AiUsage,
  UpdateAiConfigRequest,
} from '@kiln/shared-schemas';
import { api, isApiError, openStream } from '../../lib/api';
import { useApiMutation } from '../../lib/mutation';
import { queryKeys } from '../../lib/query';
import { readChatEvents, type ToolCall } from './sse';

export type { AiConfigResponse, AiOverviewResponse, AiUsage, ToolCall };
export type AiModel = AiModelsResponse[number];

export function useAiConfig() {
  return useQuery({
    queryKey: queryKeys.ai.config(),
    queryFn: ({ signal }) => api.get<AiConfigResponse>('/api/ai/config', undefined, signal),
  });
}

export function useAiModels(enabled = true) {
  return useQuery({
    queryKey: queryKeys.ai.models(),
    queryFn: ({ signal }) => api.get<AiModelsResponse>('/api/ai/models', undefined, signal),
    enabled,
  });
}

export function useSaveAiConfig() {
  return useApiMutation({
    mutationFn: (body: UpdateAiConfigRequest) => api.put<AiConfig>('/api/ai/config', body),
    progress: 'Saving the AI settings…',
    success: 'AI settings saved',
    invalidate: [queryKeys.ai.config(), queryKeys.ai.models()],
  });
}

export function useAiOverview(days: number) {
  return useQuery({
    queryKey: queryKeys.ai.overview(days),
    queryFn: ({ signal }) => api.get<AiOverviewResponse>('/api/ai/overview', { days }, signal),
    placeholderData: keepPreviousData,
  });
}

export interface ChatMessage {
  id: number;
  role: 'user' | 'assistant';
  content: string;
  /** Assistant: the model that answered. */
  model?: string;
  toolCalls?: ToolCall[];
  usage?: AiUsage;
  /** Assistant: still arriving. */
  streaming?: boolean;
  /** Assistant: how the call ended when not with `done` (the API's message). */
  error?: string;
  /** Assistant: the admin pressed Stop. */
  stopped?: boolean;
}

export interface ChatOptions {
  model: string;
  temperature?: number;
  maxTokens?: number;
  tools?: AiChatRequest['tools'];
}

/**
 * The playground's conversation: `send` appends the admin's message and an assistant message
 * that grows with each streamed chunk; `stop` aborts the stream (the server stops the upstream).
 * Each turn sends the conversation's texts so far (tool calls are shown, not sent back).
 */
export function useChat() {
  const client = useQueryClient();
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [streaming, setStreaming] = useState(false);
  const controller = useRef<AbortController | null>(null);
  const nextId = useRef(1);

  const update = useCallback((id: number, change: (m: ChatMessage) => ChatMessage) => {
    setMessages((all) => all.map((m) => (m.id === id ? change(m) : m)));
  }, []);

  const send = useCallback(
    async (text: string, options: ChatOptions, history: ChatMessage[]) => {
      const user: ChatMessage = { id: nextId.current++, role: 'user', content: text };
      const reply: ChatMessage = {
        id: nextId.current++,
        role: 'assistant',
        content: '',
        model: options.model,
        streaming: true,
      };
      setMessages([...history, user, reply]);
      setStreaming(true);
      const abort = new AbortController();
      controller.current = abort;
      const body: AiChatRequest = {
        model: options.model,
        stream: true,
        messages: [...history, user]
          .filter((m) => m.content !== '')
          .map((m) => ({ role: m.role, content: m.content })),
        ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
        ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
        ...(options.tools?.length ? { tools: options.tools, toolChoice: 'auto' as const } : {}),
      };
      let finished = false;
      try {
        const res = await openStream('/api/ai/chat/completion', body, abort.signal);
        for await (const event of readChatEvents(res)) {
          if ('chunk' in event)
            update(reply.id, (m) => ({ ...m, content: m.content + event.chunk }));
          else if ('tool_calls' in event)
            update(reply.id, (m) => ({ ...m, toolCalls: event.tool_calls }));
          else if ('tokenUsage' in event)
            update(reply.id, (m) => ({ ...m, usage: event.tokenUsage }));
          else if ('error' in event) {
            finished = true;
            update(reply.id, (m) => ({ ...m, error: event.message }));
          } else if ('done' in event) finished = true;
        }
        if (!finished)
          update(reply.id, (m) => ({ ...m, error: 'The stream ended before its end' }));
      } catch (err) {
        if (abort.signal.aborted) update(reply.id, (m) => ({ ...m, stopped: true }));
        else {
          const message = err instanceof Error ? err.message : 'The request failed';
          const detail = isApiError(err) ? ` (${err.code})` : '';
          update(reply.id, (m) => ({ ...m, error: `${message}${detail}` }));
        }
      } finally {
        update(reply.id, (m) => ({ ...m, streaming: false }));
        setStreaming(false);
        if (controller.current === abort) controller.current = null;
        // The call is in the usage now.
        void client.invalidateQueries({ queryKey: [...queryKeys.ai.all, 'overview'] });
      }
    },
    [update, client],
  );

  // Leaving the page ends the stream (and with it the upstream call).
  useEffect(() => () => controller.current?.abort(), []);

  const stop = useCallback(() => controller.current?.abort(), []);
  const clear = useCallback(() => {
    controller.current?.abort();
    setMessages([]);
  }, []);

  return { messages, streaming, send, stop, clear };
}
