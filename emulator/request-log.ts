/**
 * The EWS requests the emulator answered, oldest first, with when each arrived and what it got: what a test needs to
 * measure a client's behaviour from the server's side (how long it waited after ErrorServerBusy, how often it retried
 * a 503), as Exchange's own IIS and EWS logs would show it. Bounded: the oldest entries go first.
 */

export interface LoggedRequest {
  /** When the request arrived (its body read), on the emulator's clock. */
  at: number;
  /** When it was answered (for a streaming request: when the stream's headers went out). */
  answeredAt: number;
  /** The EWS operation, or `unknown` when the body was not a readable SOAP request. */
  operation: string;
  /** The authenticated account. */
  account: string;
  /** The RequestServerVersion the request asked for, as written (also one refused as ErrorInvalidServerVersion). */
  requestedVersion?: string;
  /** The mailbox acted on (impersonated, or the account's own), when the request got that far. */
  mailbox?: string;
  /** X-AnchorMailbox, X-PreferServerAffinity and the X-BackEndOverrideCookie the request brought, if any. */
  anchorMailbox?: string;
  preferServerAffinity?: boolean;
  backEndCookie?: string;
  /** The HTTP status of the answer. */
  status: number;
  /** The response code of a SOAP fault answer (ErrorServerBusy, ErrorMailboxMoveInProgress, …). */
  fault?: string;
  /** The ResponseCode of the first failed response message of a 200 answer (ErrorInvalidSyncStateData, …). */
  responseCode?: string;
}

export interface RequestFilter {
  mailbox?: string;
  operation?: string;
  /** Only requests that arrived at or after this time (the emulator's clock, ms). */
  since?: number;
}

export class RequestLog {
  private entries: LoggedRequest[] = [];

  constructor(private readonly limit = 10_000) {}

  add(entry: LoggedRequest): void {
    this.entries.push(entry);
    // Trimmed in batches, so that a full log does not copy itself on every request.
    if (this.entries.length > this.limit + this.limit / 10) this.entries = this.entries.slice(-this.limit);
  }

  list(filter: RequestFilter = {}): LoggedRequest[] {
    const mailbox = filter.mailbox?.toLowerCase();
    return this.entries
      .slice(-this.limit)
      .filter(
        (entry) =>
          (mailbox === undefined || entry.mailbox === mailbox) &&
          (filter.operation === undefined || entry.operation === filter.operation) &&
          (filter.since === undefined || entry.at >= filter.since),
      )
      .map((entry) => ({ ...entry }));
  }
}
