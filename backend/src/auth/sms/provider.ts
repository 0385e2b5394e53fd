/**
 * Where SMS one-time codes go. One interface, one file per implementation (twilio.ts, log.ts),
 * chosen once in app.ts from SMS_PROVIDER; the phone flows never ask which one they hold.
 */
import { AppError } from '../../core/errors.js';

export interface SmsMessage {
  /** E.164 (`+14155550123`). */
  to: string;
  body: string;
}

export interface SmsProvider {
  /** `twilio`, `log` or `none`: for logs and the public config, never for branching. */
  readonly name: string;
  /** Whether messages can be sent at all (the phone routes answer 503 otherwise). */
  readonly available: boolean;
  /** Sends or throws an AppError (502 AUTH_SMS_DELIVERY_FAILED, 503 AUTH_SMS_NOT_CONFIGURED). */
  send(message: SmsMessage): Promise<void>;
}

export const smsNotConfigured = () =>
  new AppError(
    503,
    'AUTH_SMS_NOT_CONFIGURED',
    'Phone sign-in is not available: no SMS provider is configured',
    'Set SMS_PROVIDER=twilio with TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM',
  );

/** SMS_PROVIDER=none (the production default without Twilio settings). */
export class NoSmsProvider implements SmsProvider {
  readonly name = 'none';
  readonly available = false;
  send(): Promise<void> {
    return Promise.reject(smsNotConfigured());
  }
}
