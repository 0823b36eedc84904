import type { EmulatorClock, TimerHandle } from '../../clock.js';
import type { Core } from '../../context.js';

/**
 * How Graph talks to a subscriber's endpoint (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks):
 * the validation handshake (`POST {url}?validationToken=…`, answered 200 `text/plain` with the decoded token within
 * 10 seconds) and the delivery of change notifications (`POST {url}` with `{"value": [...]}`), which counts as failed
 * on an answer other than 2xx or one slower than 3 seconds, and is then retried with exponential back-off for up to 4
 * hours before the notifications are dropped. Times run on the emulator's clock and its "seconds" are scaled with
 * `minuteMs`, so tests move a simulated clock instead of waiting.
 */

export interface DeliveryTimings {
  /** The handshake's answer must come within this. */
  validationTimeoutMs: number;
  /** A notification answered later than this counts as failed (Graph: 3 seconds). */
  answerTimeoutMs: number;
  /** The first retry's delay; each later one doubles it, up to maxRetryDelayMs. */
  firstRetryMs: number;
  maxRetryDelayMs: number;
  /** Notifications older than this are dropped instead of retried (Graph: 4 hours). */
  maxRetryAgeMs: number;
  /** At most this many notifications in one POST. */
  batchSize: number;
}

export function deliveryTimings(minuteMs: number): DeliveryTimings {
  const second = minuteMs / 60;
  return {
    validationTimeoutMs: 10 * second,
    answerTimeoutMs: 3 * second,
    firstRetryMs: 60 * second,
    maxRetryDelayMs: 30 * 60 * second,
    maxRetryAgeMs: 4 * 60 * 60 * second,
    batchSize: 50,
  };
}

export type PostOutcome = { ok: true; status: number; body: string } | { ok: false; reason: string };

/**
 * POSTs a body and waits for the answer at most `timeoutMs` on the emulator's clock (a late answer is a failure, and
 * the request is abandoned), or until `stop` aborts it.
 */
export async function postWithin(
  clock: EmulatorClock,
  url: string,
  init: { body: string; contentType: string },
  timeoutMs: number,
  stop?: AbortSignal,
): Promise<PostOutcome> {
  const abort = new AbortController();
  const signal = stop ? AbortSignal.any([abort.signal, stop]) : abort.signal;
  let timer: TimerHandle | undefined;
  const timedOut = new Promise<PostOutcome>((resolve) => {
    timer = clock.setTimeout(() => {
      abort.abort();
      resolve({ ok: false, reason: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
  });
  const answered = (async (): Promise<PostOutcome> => {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': init.contentType },
        body: init.body,
        signal,
      });
      const body = await response.text();
      if (response.status < 200 || response.status > 299) return { ok: false, reason: `HTTP ${response.status}` };
      return { ok: true, status: response.status, body };
    } catch (error) {
      return { ok: false, reason: error instanceof Error ? error.message : String(error) };
    }
  })();
  const outcome = await Promise.race([answered, timedOut]);
  clock.clearTimeout(timer);
  return outcome;
}

/** The validation handshake; undefined when the endpoint passed, else the reason for Graph's ValidationError. */
export async function validateEndpoint(core: Core, url: string, timings: DeliveryTimings): Promise<string | undefined> {
  const token = `Validation: Testing client application reachability for subscription Request-Id: ${crypto.randomUUID()}`;
  const target = new URL(url);
  target.searchParams.set('validationToken', token);
  const outcome = await postWithin(
    core.clock,
    target.toString(),
    { body: '', contentType: 'text/plain; charset=utf-8' },
    timings.validationTimeoutMs,
  );
  if (!outcome.ok) {
    return outcome.reason.startsWith('no answer')
      ? 'Subscription validation request timed out.'
      : `Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request (${outcome.reason}).`;
  }
  if (outcome.status !== 200)
    return 'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.';
  if (outcome.body !== token)
    return 'Subscription validation request failed. Response must exactly match validationToken query parameter.';
  return undefined;
}

interface Queued {
  notification: Record<string, unknown>;
  queuedAt: number;
}

/**
 * The queue of one subscription's change notifications: batches go out one POST at a time, in order; a failed POST
 * is retried after a growing delay, and what has waited longer than maxRetryAgeMs is dropped (reported through
 * `onDropped`, which sends the `missed` lifecycle notification). `held` keeps notifications back (a subscription that
 * needs reauthorization) without dropping them.
 */
export class NotificationQueue {
  private readonly queue: Queued[] = [];
  private sending = false;
  private retryTimer: TimerHandle | undefined;
  private retryDelay = 0;
  private stopped = false;
  private readonly abort = new AbortController();
  held = false;
  /** POSTs made (for the admin listing). */
  attempts = 0;
  failures = 0;

  constructor(
    private readonly core: Core,
    private readonly timings: () => DeliveryTimings,
    private readonly target: () => string,
    private readonly onDropped: (count: number) => void,
    private readonly label: string,
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  get retrying(): boolean {
    return this.retryTimer !== undefined;
  }

  push(notification: Record<string, unknown>): void {
    if (this.stopped) return;
    this.queue.push({ notification, queuedAt: this.core.now() });
    // Events of one operation arrive together: send them in one batch.
    if (!this.retrying) setImmediate(() => void this.send());
  }

  /** Drops what is queued (a `missed` lifecycle event); returns how many. */
  discard(): number {
    const count = this.queue.length;
    this.queue.length = 0;
    return count;
  }

  release(): void {
    this.held = false;
    if (!this.retrying) setImmediate(() => void this.send());
  }

  stop(): void {
    this.stopped = true;
    this.core.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.abort.abort();
  }

  private dropStale(): void {
    const timings = this.timings();
    const limit = this.core.now() - timings.maxRetryAgeMs;
    let dropped = 0;
    while (this.queue.length > 0 && (this.queue[0] as Queued).queuedAt <= limit) {
      this.queue.shift();
      dropped++;
    }
    if (dropped > 0) {
      this.core.log.warn(
        { subscription: this.label, dropped },
        'Graph notifications undeliverable for 4 hours: dropped',
      );
      this.onDropped(dropped);
    }
  }

  private async send(): Promise<void> {
    if (this.sending || this.stopped || this.held || this.retrying) return;
    this.dropStale();
    if (this.queue.length === 0) return;
    this.sending = true;
    const timings = this.timings();
    const batch = this.queue.slice(0, timings.batchSize);
    this.attempts++;
    const outcome = await postWithin(
      this.core.clock,
      this.target(),
      {
        body: JSON.stringify({ value: batch.map((q) => q.notification) }),
        contentType: 'application/json; charset=utf-8',
      },
      timings.answerTimeoutMs,
      this.abort.signal,
    );
    this.sending = false;
    if (this.stopped) return;
    if (outcome.ok) {
      this.queue.splice(0, batch.length);
      this.retryDelay = 0;
      if (this.queue.length > 0) setImmediate(() => void this.send());
      return;
    }
    this.failures++;
    this.retryDelay =
      this.retryDelay === 0 ? timings.firstRetryMs : Math.min(this.retryDelay * 2, timings.maxRetryDelayMs);
    this.core.log.info(
      { subscription: this.label, reason: outcome.reason, retryInMs: this.retryDelay },
      'Graph notification delivery failed',
    );
    this.retryTimer = this.core.clock.setTimeout(() => {
      this.retryTimer = undefined;
      void this.send();
    }, this.retryDelay);
  }
}

/** Posts one lifecycle notification (no retries: a lost one is what `missed` and expiry are for). */
export async function postLifecycle(
  core: Core,
  url: string,
  notification: Record<string, unknown>,
  timings: DeliveryTimings,
): Promise<boolean> {
  const outcome = await postWithin(
    core.clock,
    url,
    { body: JSON.stringify({ value: [notification] }), contentType: 'application/json; charset=utf-8' },
    timings.answerTimeoutMs,
  );
  if (!outcome.ok) core.log.info({ url, reason: outcome.reason }, 'Graph lifecycle notification failed');
  return outcome.ok;
}
