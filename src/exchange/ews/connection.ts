import type { ExchangeService } from 'ews-javascript-api';
import { errors, isExhError } from '../../errors.js';
import type { ExhLogger } from '../../logging/logger.js';
import type { ExchangePool } from '../../pool/exchange-pool.js';
import type {
  CallOptions,
  ExchangeItem,
  FolderName,
  ItemWrite,
  MailboxConnection,
  MailboxWriter,
  NotificationKind,
  Subscription,
  SubscriptionEvent,
  SyncFolderOptions,
  SyncPage,
  WriteResult,
} from '../../ports/exchange.port.js';
import type { PushReceiver } from '../push-receiver.js';
import { ewsCapabilities } from './capabilities.js';
import { type ErrorContext, fromLibraryError } from './errors.js';
import type { SoapTarget } from './soap.js';
import type { StreamGroups } from './subscriptions/groups.js';
import { subscribePull } from './subscriptions/pull.js';
import { subscribePush } from './subscriptions/push.js';
import { subscribeStreaming } from './subscriptions/streaming.js';
import { syncFolder } from './sync.js';
import { type EwsTransport, type RequestScope, requestScope } from './transport.js';
import type { Tuning } from './tuning.js';
import * as write from './write.js';

/** What the adapter's operations need of one mailbox (sync.ts, occurrences.ts, subscriptions/). */
export interface EwsMailbox {
  readonly user: string;
  readonly target: SoapTarget;
  readonly service: ExchangeService;
  readonly transport: EwsTransport;
  readonly pool: ExchangePool;
  readonly logger: ExhLogger;
  readonly tuning: Tuning;
  readonly push: PushReceiver | undefined;
  /** Distinguished folder of each folder id the connection found (GetFolder at connect). */
  readonly folderNames: ReadonlyMap<string, FolderName>;
  /** Autodiscover's GroupingInformation ('' when unknown): with the EWS URL, which streaming group the mailbox joins. */
  readonly groupingInformation: string;
  /** The adapter's streaming groups (subscriptions/groups.ts). */
  readonly streams: StreamGroups;
  /**
   * Runs one Exchange request through the pool, with the caller's priority and signal; whatever fails becomes an
   * ExhError of the catalogue (the library's own exceptions included).
   */
  request<T>(options: CallOptions, extra: Partial<ErrorContext>, task: (signal: AbortSignal) => Promise<T>): Promise<T>;
  /** Sends nothing for this mailbox for `ms` (ErrorServerBusy's BackOffMilliseconds, also from its group's stream). */
  holdOff(ms: number): void;
}

export interface EwsConnectionInit {
  user: string;
  target: SoapTarget;
  service: ExchangeService;
  transport: EwsTransport;
  pool: ExchangePool;
  logger: ExhLogger;
  tuning: Tuning;
  push: PushReceiver | undefined;
  folderNames: ReadonlyMap<string, FolderName>;
  groupingInformation: string;
  streams: StreamGroups;
}

/**
 * A copy of `text` that holds nothing else: what the XML reader returns is a slice of the whole response (V8 keeps the
 * response alive for as long as the slice), so a value kept for a mailbox's lifetime (its folder ids, a subscription
 * id) is copied, or each mailbox keeps one response of ~1.5 KiB per such value.
 */
export function detached(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

/** Resolves after `ms`, or rejects with EXH_POOL_ABORTED as soon as `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const abort = () => {
      clearTimeout(timer);
      reject(errors.poolAborted());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', abort);
      resolve();
    }, ms);
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
  });
}

/**
 * `task`'s outcome, or EXH_POOL_ABORTED as soon as `signal` aborts even if the task never settles. The abort listener
 * goes once the race is over: left on the pool's signal (an AbortSignal.any, which Node keeps alive while it has abort
 * listeners), it kept the signal and, through the race, the task's result (with the response text its strings are
 * slices of) until the pool closed: some 3 KiB for every request.
 */
async function unlessAborted<T>(signal: AbortSignal, task: () => Promise<T>): Promise<T> {
  let abort = () => {};
  const stopped = new Promise<never>((_, reject) => {
    abort = () => reject(errors.poolAborted());
  });
  if (signal.aborted) abort();
  else signal.addEventListener('abort', abort, { once: true });
  try {
    return await Promise.race([task(), stopped]);
  } finally {
    signal.removeEventListener('abort', abort);
  }
}

export class EwsConnection implements MailboxConnection, MailboxWriter, EwsMailbox {
  readonly user: string;
  readonly endpoint: string;
  readonly capabilities = ewsCapabilities;
  readonly target: SoapTarget;
  readonly service: ExchangeService;
  readonly transport: EwsTransport;
  readonly pool: ExchangePool;
  readonly logger: ExhLogger;
  readonly tuning: Tuning;
  readonly push: PushReceiver | undefined;
  readonly folderNames: ReadonlyMap<string, FolderName>;
  readonly groupingInformation: string;
  readonly streams: StreamGroups;
  /** Until when Exchange asked for no requests from this mailbox (ErrorServerBusy's BackOffMilliseconds). */
  #quietUntil = 0;

  constructor(init: EwsConnectionInit) {
    this.user = init.user;
    this.endpoint = init.target.url;
    this.target = init.target;
    this.service = init.service;
    this.transport = init.transport;
    this.pool = init.pool;
    this.logger = init.logger;
    this.tuning = init.tuning;
    this.push = init.push;
    this.folderNames = init.folderNames;
    this.groupingInformation = init.groupingInformation;
    this.streams = init.streams;
  }

  async request<T>(
    options: CallOptions,
    extra: Partial<ErrorContext>,
    task: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const context = { user: this.user, account: this.target.account, ...extra };
    // ErrorServerBusy asks for quiet, not only for a later retry: what this mailbox would send meanwhile (another
    // item type's sync, the Unsubscribe of the subscription being closed) waits outside the pool, or is given up
    // with its caller's signal (docs/reliability.md, "Exchange faults").
    const quiet = this.#quietUntil - Date.now();
    if (quiet > 0) await pause(quiet, options.signal);
    return this.pool.run(
      async (signal) => {
        const scope: RequestScope = { signal, context };
        try {
          // The race frees the pool slot for a stopped caller even if the library never settles its promise.
          return await unlessAborted(signal, () => requestScope.run(scope, () => task(signal)));
        } catch (error) {
          // The transport's own error first: the library wraps it into SoapFaultDetails on the way out.
          const failure =
            scope.error ?? (isExhError(error) ? error : fromLibraryError(error, { url: this.endpoint, ...context }));
          const backOffMs = failure.code === 'EXH_EXCHANGE_THROTTLED' ? failure.details.backOffMs : undefined;
          if (typeof backOffMs === 'number') this.holdOff(backOffMs);
          throw failure;
        }
      },
      { priority: options.priority, signal: options.signal, mailbox: this.user, mayStart: options.mayStart },
    );
  }

  holdOff(ms: number): void {
    this.#quietUntil = Math.max(this.#quietUntil, Date.now() + ms);
  }

  syncFolder(folder: FolderName, continuation: string | null, options: SyncFolderOptions): Promise<SyncPage> {
    return syncFolder(this, folder, continuation, options);
  }

  subscribe(
    folders: FolderName[],
    kind: NotificationKind,
    onEvent: (event: SubscriptionEvent) => void,
    options: CallOptions,
  ): Promise<Subscription> {
    switch (kind) {
      case 'streaming':
        return subscribeStreaming(this, folders, onEvent, options);
      case 'pull':
        return subscribePull(this, folders, onEvent, options);
      case 'push':
        return subscribePush(this, folders, onEvent, options);
      default:
        // Graph's kinds (poll, webhook) are not EWS's: ExchangeCapabilities.notifications says which are.
        return Promise.reject(
          errors.exchangeRequestFailed(this.endpoint, 'unsupported', `EWS has no ${kind} notifications`),
        );
    }
  }

  createItem(w: ItemWrite & { appItemId: string; uid?: string }, options: CallOptions): Promise<WriteResult> {
    return write.createItem(this, w, options);
  }

  updateItem(itemId: string, w: ItemWrite, options: CallOptions & { changeKey?: string }): Promise<WriteResult> {
    return write.updateItem(this, itemId, w, options);
  }

  readItem(itemId: string, options: CallOptions): Promise<ExchangeItem | null> {
    return write.readItem(this, itemId, options);
  }

  deleteItem(itemId: string, options: CallOptions): Promise<void> {
    return write.deleteItem(this, itemId, options);
  }

  findByAppItemId(folders: readonly FolderName[], appItemId: string, options: CallOptions): Promise<string | null> {
    return write.findByAppItemId(this, folders, appItemId, options);
  }

  addAttachment(
    itemId: string,
    attachment: { name: string; contentType: string; content: Buffer },
    options: CallOptions,
  ): Promise<{ attachmentId: string }> {
    return write.addAttachment(this, itemId, attachment, options);
  }

  getAttachment(
    itemId: string,
    attachmentId: string,
    options: CallOptions & { maxBytes: number },
  ): Promise<{ name: string; contentType: string; content: Buffer }> {
    return write.getAttachment(this, itemId, attachmentId, options);
  }
}
