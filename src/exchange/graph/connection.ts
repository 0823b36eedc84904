import type { Config } from '../../config/schema.js';
import type { ExhLogger } from '../../logging/logger.js';
import type {
  CallOptions,
  ExchangeCapabilities,
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
import * as attachments from './attachments.js';
import type { GraphBatchRequest, GraphBatchResult, GraphClient, GraphRequest, GraphResponse } from './client.js';
import { findByAppItemId } from './find.js';
import { kindOfFolder, type ResourceKind, userPath } from './ids.js';
import { rememberKind } from './locate.js';
import { subscribe } from './poll.js';
import { syncFolder } from './sync.js';
import * as write from './write.js';

/** What the adapter's operations need of one mailbox (sync.ts, calendar-window.ts, write.ts, attachments.ts). */
export interface GraphMailbox {
  readonly user: string;
  /** `/users/{upn}`: every path of the mailbox starts with it. */
  readonly path: string;
  readonly endpoint: string;
  readonly logger: ExhLogger;
  readonly graph: Config['exchange']['graph'];
  readonly calendarWindow: Config['sync']['calendarWindow'];
  /** The clock the calendar window rolls by. */
  now(): Date;
  /** The To Do list tasks are read from and written to: the default list, resolved at connect. */
  readonly todoListId: string | undefined;
  /** The kind of resource of the items this connection read or wrote (./locate.ts). */
  readonly kinds: Map<string, ResourceKind>;
  /** One request of this mailbox (it counts against the mailbox's requests in flight). */
  send<T = unknown>(request: GraphRequest, options: CallOptions): Promise<GraphResponse<T>>;
  /** Many GETs or writes of this mailbox in $batch envelopes. */
  batch(requests: readonly GraphBatchRequest[], options: CallOptions): Promise<GraphBatchResult[]>;
}

export interface GraphConnectionInit {
  user: string;
  baseUrl: string;
  client: GraphClient;
  logger: ExhLogger;
  graph: Config['exchange']['graph'];
  calendarWindow: Config['sync']['calendarWindow'];
  capabilities: ExchangeCapabilities;
  todoListId: string | undefined;
  now?: () => Date;
  /** Webhook subscriptions (./subscribe.ts), when the adapter was given them. */
  webhook?: WebhookSubscriber;
}

/** How a connection asks for webhook subscriptions (src/exchange/graph/subscribe.ts). */
export type WebhookSubscriber = (
  mailbox: GraphMailbox,
  folders: FolderName[],
  onEvent: (event: SubscriptionEvent) => void,
  options: CallOptions,
) => Promise<Subscription>;

/** One user's mailbox through Microsoft Graph: both halves of the port (src/ports/exchange.port.ts). */
export class GraphConnection implements MailboxConnection, MailboxWriter, GraphMailbox {
  readonly user: string;
  readonly path: string;
  readonly endpoint: string;
  readonly capabilities: ExchangeCapabilities;
  readonly logger: ExhLogger;
  readonly graph: Config['exchange']['graph'];
  readonly calendarWindow: Config['sync']['calendarWindow'];
  readonly todoListId: string | undefined;
  readonly kinds = new Map<string, ResourceKind>();
  readonly #client: GraphClient;
  readonly #now: () => Date;
  readonly #webhook: WebhookSubscriber | undefined;

  constructor(init: GraphConnectionInit) {
    this.user = init.user;
    this.path = userPath(init.user);
    this.endpoint = `${init.baseUrl.replace(/\/+$/, '')}/users/${init.user}`;
    this.capabilities = init.capabilities;
    this.logger = init.logger;
    this.graph = init.graph;
    this.calendarWindow = init.calendarWindow;
    this.todoListId = init.todoListId;
    this.#client = init.client;
    this.#now = init.now ?? (() => new Date());
    this.#webhook = init.webhook;
  }

  now(): Date {
    return this.#now();
  }

  send<T = unknown>(request: GraphRequest, options: CallOptions): Promise<GraphResponse<T>> {
    return this.#client.request<T>({ mailbox: this.user, ...request }, options);
  }

  batch(requests: readonly GraphBatchRequest[], options: CallOptions): Promise<GraphBatchResult[]> {
    if (requests.length === 0) return Promise.resolve([]);
    return this.#client.batch(requests, { ...options, mailbox: this.user });
  }

  async syncFolder(folder: FolderName, continuation: string | null, options: SyncFolderOptions): Promise<SyncPage> {
    const page = await syncFolder(this, folder, continuation, options);
    const kind = kindOfFolder(folder);
    for (const change of page.changes) {
      if (change.type === 'create' || change.type === 'update') rememberKind(this, change.item.id, kind);
    }
    return page;
  }

  subscribe(
    folders: FolderName[],
    kind: NotificationKind,
    onEvent: (event: SubscriptionEvent) => void,
    options: CallOptions,
  ): Promise<Subscription> {
    return subscribe(this, { folders, kind, onEvent, options, webhook: this.#webhook });
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

  resumeCreate(itemId: string, w: ItemWrite & { appItemId: string }, options: CallOptions): Promise<void> {
    return write.resumeCreate(this, itemId, w, options);
  }

  findByAppItemId(folders: readonly FolderName[], appItemId: string, options: CallOptions): Promise<string | null> {
    return findByAppItemId(this, folders, appItemId, options);
  }

  getAttachment(
    itemId: string,
    attachmentId: string,
    options: CallOptions & { maxBytes: number },
  ): Promise<{ name: string; contentType: string; content: Buffer }> {
    return attachments.getAttachment(this, itemId, attachmentId, options);
  }

  addAttachment(
    itemId: string,
    attachment: { name: string; contentType: string; content: Buffer },
    options: CallOptions,
  ): Promise<{ attachmentId: string }> {
    return attachments.addAttachment(this, itemId, attachment, options);
  }
}
