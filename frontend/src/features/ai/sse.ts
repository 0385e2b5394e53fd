/**
 * The events of a streamed chat (POST /api/ai/chat/completion with `stream: true`): each
 * `data: <json>` block is one of `{chunk}`, `{tool_calls}`, `{tokenUsage}`, `{error, message}`
 * and, last, `{done: true}` (see shared-schemas' aiChatResponseSchema).
 */
import type { AiUsage } from '@kiln/shared-schemas';

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type ChatEvent =
  | { chunk: string }
  | { tool_calls: ToolCall[] }
  | { tokenUsage: AiUsage }
  | { error: true; message: string }
  | { done: true };

/** Yields each event of the response's body as it arrives. */
export async function* readChatEvents(res: Response): AsyncGenerator<ChatEvent> {
  if (!res.body) return;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n/g, '\n');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).replace(/^ /, ''))
          .join('\n');
        if (!data) continue;
        try {
          yield JSON.parse(data) as ChatEvent;
        } catch {
          // Not JSON (a comment or keep-alive): skipped.
        }
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
