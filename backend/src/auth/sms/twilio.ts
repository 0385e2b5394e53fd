/**
 * Twilio's Messages API: `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, a form
 * body (`To`, `Body`, and `From` or `MessagingServiceSid`), HTTP basic auth with the account SID
 * and auth token. TWILIO_API_BASE points it elsewhere (a regional edge, or a stand-in in tests).
 */
import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { SmsMessage, SmsProvider } from './provider.js';

export interface TwilioOptions {
  accountSid: string;
  authToken: string;
  /** A sender number (E.164) or a Messaging Service SID (`MG…`). */
  from: string;
  apiBase: string;
  timeoutMs?: number;
}

export class TwilioSmsProvider implements SmsProvider {
  readonly name = 'twilio';
  readonly available = true;

  constructor(
    private readonly options: TwilioOptions,
    private readonly logger: Logger,
  ) {}

  async send(message: SmsMessage): Promise<void> {
    const { accountSid, authToken, from, apiBase } = this.options;
    const url = `${apiBase.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Messages.json`;
    const form = new URLSearchParams({ To: message.to, Body: message.body });
    if (/^MG[0-9a-fA-F]{32}$/.test(from)) form.set('MessagingServiceSid', from);
    else form.set('From', from);
    const failed = (detail: string) => {
      this.logger.warn('SMS delivery failed', { provider: 'twilio', detail });
      return new AppError(
        502,
        'AUTH_SMS_DELIVERY_FAILED',
        'The SMS could not be sent',
        'Try again in a moment; if it keeps failing, check the Twilio settings',
      );
    };
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw failed(String(err));
    }
    if (res.ok) {
      await res.body?.cancel();
      return;
    }
    // Twilio's errors: {code, message, more_info, status}.
    const text = await res.text().catch(() => '');
    let reason = text.slice(0, 300);
    try {
      const body = JSON.parse(text) as { code?: number; message?: string };
      reason = `${body.code ?? ''} ${body.message ?? ''}`.trim() || reason;
    } catch {
      // Not JSON: the text as it came.
    }
    throw failed(`HTTP ${res.status}: ${reason}`);
  }
}
