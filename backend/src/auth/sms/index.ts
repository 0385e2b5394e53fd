import path from 'node:path';
import type { Config } from '../../core/config.js';
import type { Logger } from '../../core/logger.js';
import { LogSmsProvider } from './log.js';
import { NoSmsProvider, type SmsProvider } from './provider.js';
import { TwilioSmsProvider } from './twilio.js';

export type { SmsMessage, SmsProvider } from './provider.js';

/** The SMS provider the settings name (SMS_PROVIDER and TWILIO_*; see config.ts). */
export function createSmsProvider(config: Config, logger: Logger): SmsProvider {
  const { sms } = config;
  if (sms.provider === 'twilio' && sms.twilio) return new TwilioSmsProvider(sms.twilio, logger);
  if (sms.provider === 'log') {
    return new LogSmsProvider(path.join(config.dataDir, 'logs', 'sms-dev.log'), logger);
  }
  return new NoSmsProvider();
}
