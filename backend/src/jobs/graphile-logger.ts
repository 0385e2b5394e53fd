/**
 * graphile-worker's log lines, through Kiln's logger (debug chatter stays at debug). Lost
 * connections it recovers from by itself (the database restarting or unreachable for a while)
 * are warnings: the database's own health is reported elsewhere.
 */
import { Logger as GraphileLogger } from 'graphile-worker';
import type { Logger } from '../core/logger.js';

export function graphileLogger(logger?: Logger): GraphileLogger {
  return new GraphileLogger(() => (level, message, meta) => {
    if (!logger) return;
    const fields = { source: 'graphile-worker', ...(meta ?? {}) };
    const recovered =
      /^(Error with notify listener|PostgreSQL (idle|active) client generated error|Error occurred attempting to UNLISTEN)/;
    if (level === 'error' && !recovered.test(message)) logger.error(message, fields);
    else if (level === 'error') logger.warn(message, { source: 'graphile-worker' });
    else if (level === 'warning') logger.warn(message, fields);
    else if (level === 'info') logger.debug(message, fields);
    else logger.debug(message, fields);
  });
}
