/**
 * A mailbox's Out of Office settings (GetUserOofSettings / SetUserOofSettings), as Exchange keeps them per mailbox.
 * Replies are kept as the text the client sent. JSON-safe: saved with the mailbox in --data files.
 */
export interface OofSettings {
  state: 'Disabled' | 'Enabled' | 'Scheduled';
  externalAudience: 'None' | 'Known' | 'All';
  /** ISO instants (UTC). */
  start: string;
  end: string;
  internalReply: string;
  externalReply: string;
  /** The xml:lang of each reply, when the client sent one. */
  internalLang?: string;
  externalLang?: string;
}

/** What a mailbox that never set OOF has: disabled, no replies, a duration of a day from the hour it is asked. */
export function defaultOofSettings(now: number): OofSettings {
  const dayStart = Math.floor(now / 3_600_000) * 3_600_000;
  return {
    state: 'Disabled',
    externalAudience: 'All',
    start: new Date(dayStart).toISOString(),
    end: new Date(dayStart + 24 * 3_600_000).toISOString(),
    internalReply: '',
    externalReply: '',
  };
}
