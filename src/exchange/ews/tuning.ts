/**
 * Timings of the EWS adapter that the configuration does not name. The defaults are Exchange's; tests shorten them
 * together with the emulator's `minuteMs` and `keepAliveMs`.
 */
export interface Tuning {
  /** The length of an EWS "minute" in milliseconds (60000); tests match it to the emulator's minuteMs. */
  minuteMs: number;
  /** GetStreamingEvents ConnectionTimeout in minutes (1–30): Exchange ends the stream then, and it is reopened. */
  streamingConnectionMinutes: number;
  /**
   * How long a streaming group waits for more mailboxes to join or leave before it opens its stream again with the
   * new list of subscriptions (a connection's list is fixed): one reopen for a burst of subscribes, not one each.
   * A subscribe does not wait for it: it resolves when Subscribe answers, and the events meanwhile wait at Exchange.
   */
  streamRegroupMs: number;
  /** A stream that brings no byte for this long is lost (Exchange sends a keep-alive about every 30 s). */
  streamSilenceMs: number;
  /** How often a pull subscription asks GetEvents. */
  pullIntervalMs: number;
  /** Pull subscription Timeout in minutes (1–1440): Exchange drops it after this long without GetEvents. */
  pullTimeoutMinutes: number;
  /** Push StatusFrequency in minutes (1–1440); a push subscription silent for twice this long is lost. */
  pushStatusFrequencyMinutes: number;
}

export const defaultTuning: Tuning = {
  minuteMs: 60_000,
  streamingConnectionMinutes: 30,
  streamSilenceMs: 90_000,
  streamRegroupMs: 1_000,
  pullIntervalMs: 10_000,
  pullTimeoutMinutes: 10,
  pushStatusFrequencyMinutes: 5,
};
