/**
 * SMS_PROVIDER=log (the default outside production without Twilio settings): nothing is sent; each
 * message is appended to a development log file (DATA_DIR/logs/sms-dev.log) and announced in the
 * server log, so a developer can read the code. Never chosen in production unless asked for.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../core/logger.js';
import type { SmsMessage, SmsProvider } from './provider.js';

export class LogSmsProvider implements SmsProvider {
  readonly name = 'log';
  readonly available = true;

  constructor(
    private readonly file: string,
    private readonly logger: Logger,
  ) {}

  async send(message: SmsMessage): Promise<void> {
    await fs.promises.mkdir(path.dirname(this.file), { recursive: true });
    const line = JSON.stringify({ at: new Date().toISOString(), ...message });
    await fs.promises.appendFile(this.file, line + '\n', { mode: 0o600 });
    this.logger.info('SMS not sent (SMS_PROVIDER=log): written to the development SMS log', {
      source: 'sms',
      file: this.file,
      to: message.to,
    });
  }
}
