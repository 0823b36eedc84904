import type { EmulatorClock } from './clock.js';
import type { Faults } from './faults.js';
import type { Subscriptions } from './notifications/subscriptions.js';
import type { RequestLog } from './request-log.js';
import type { ExchangeVersion } from './soap/envelope.js';
import type { Mailbox } from './store/mailbox.js';
import type { Store } from './store/store.js';
import type { ResponseRecorder } from './validation.js';

/** What the emulator logs through: pino and anything shaped like it. */
export interface EmulatorLogger {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
  debug(obj: unknown, msg?: string): void;
}

export const silentLogger: EmulatorLogger = { info() {}, warn() {}, error() {}, debug() {} };

export interface EmulatorSettings {
  serviceAccount: string;
  password: string;
  /** Whether the service account holds the ApplicationImpersonation role. */
  impersonationAllowed: boolean;
  /** Copy the organizer's custom extended properties onto attendees' copies (Exchange does not; off by default). */
  copyExtendedPropertiesToAttendees: boolean;
  /**
   * Hanging (streaming) connections one mailbox may hold before ErrorExceededConnectionCount: Exchange's
   * HangingConnectionLimit, 3 on premises (10 in Exchange Online). Switchable at run time (admin settings).
   */
  maxHangingConnections: number;
  /**
   * EWSFindCountLimit: the most items a FindItem answers with (paged views are cut short, unpaged ones refused with
   * ErrorExceededFindCountLimit, calendar views cut short or refused with ErrorCalendarViewRangeTooBig). Default 1000.
   */
  findCountLimit: number;
  /**
   * How many Mailbox servers the mailboxes are spread over (by a hash of the address): Autodiscover's
   * GroupingInformation names the server, so this is how many streaming groups an EWS URL has. Default 2.
   */
  mailboxServers: number;
  /** Length of an EWS "minute" (Timeout, StatusFrequency, ConnectionTimeout); tests shorten it. */
  minuteMs: number;
  /** Interval of the keep-alive envelopes on a streaming connection. */
  keepAliveMs: number;
  /** Largest request body accepted (HTTP 413 above it). */
  bodyLimit: number;
}

/** The emulator's parts, shared by every operation. */
export interface Core {
  store: Store;
  settings: EmulatorSettings;
  faults: Faults;
  subscriptions: Subscriptions;
  recorder: ResponseRecorder | undefined;
  /** Every EWS request answered, with its times and outcome (admin.requests()). */
  requests: RequestLog;
  log: EmulatorLogger;
  clock: EmulatorClock;
  now(): number;
  /** The EWS URL as clients reach it (for Autodiscover answers). */
  ewsUrl(): string;
}

/** One EWS request as an operation sees it: who asks, in which mailbox, with which version and time zone. */
export interface OperationContext {
  core: Core;
  operation: string;
  version: ExchangeVersion;
  /** The authenticated account. */
  account: string;
  /** The mailbox acted on (the impersonated user, or the account's own). */
  mailbox: Mailbox;
  /** Windows time zone id from the request's TimeZoneContext, if any. */
  timeZone: string | undefined;
}
