import { type ExchangeCapabilities, folderNames } from '../../ports/exchange.port.js';

/**
 * What the EWS adapter can do: every notification kind EWS has (streaming, push, pull), every well-known folder, and
 * writes. EWS throttles per account rather than per mailbox, so no per-mailbox limit beyond the pool's total.
 */
export const ewsCapabilities: ExchangeCapabilities = {
  notifications: ['streaming', 'push', 'pull'],
  folders: folderNames,
  writes: true,
};
