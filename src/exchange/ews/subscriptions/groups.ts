import { type ExhError, errors, isExhError } from '../../../errors.js';
import type { ExhLogger } from '../../../logging/logger.js';
import type { ExchangePool } from '../../../pool/exchange-pool.js';
import type { CallOptions, FolderName, Subscription, SubscriptionEvent } from '../../../ports/exchange.port.js';
import type { EwsMailbox } from '../connection.js';
import { fromResponseCode, responseMessageFault } from '../errors.js';
import { errorContext, type SoapTarget, soapEnvelope } from '../soap.js';
import type { EwsTransport, OpenStream } from '../transport.js';
import type { Tuning } from '../tuning.js';
import { all, at, escapeXml, parseXml, textOf } from '../xml.js';
import { type Affinity, affinityHeaders, subscribeInGroup, unsubscribeInGroup } from './affinity.js';
import { changedFolders, summarize } from './events.js';
import { fingerprint, notifySafely, toLost } from './lifecycle.js';

/**
 * Streaming subscriptions grouped as Microsoft prescribes (docs/exchange-on-premises.md, "Streaming at scale"):
 * mailboxes with the same EWS URL and GroupingInformation share one GetStreamingEvents connection, at most 200
 * subscriptions each. The first mailbox of a group is its anchor: every Subscribe, GetStreamingEvents and Unsubscribe
 * of the group names it in X-AnchorMailbox with X-PreferServerAffinity, and carries the X-BackEndOverrideCookie of
 * the group's first answer; GetStreamingEvents impersonates the anchor, so that the connection counts against the
 * anchor's budget of hanging connections.
 *
 * A connection carries a fixed list of subscriptions: a mailbox that joins or leaves has the group's stream opened
 * again with the new list, once the joins and leaves of `tuning.streamRegroupMs` are in (what happens meanwhile waits
 * in the subscriptions at Exchange). A mailbox's subscribe resolves as soon as Exchange answers its Subscribe: from
 * then on Exchange keeps every event for the subscription until a stream takes it, so the mailbox's catch-up need
 * not wait for the group's stream (docs/exchange-on-premises.md, "Streaming at scale"). What concerns one
 * subscription (ErrorSubscriptionNotFound with its id) is a `lost` event for that mailbox alone; what ends the
 * connection or keeps it from opening (an HTTP error, ErrorServerBusy with its BackOffMilliseconds, silence, streams
 * that end at once) is a `lost` event for each of its mailboxes, carrying the error and its back-off, after which
 * they back off, subscribe again and catch up as before. Exchange ending a stream after ConnectionTimeout opens it
 * again at once.
 */

export const maxSubscriptionsPerConnection = 200;

/** Streams that end by themselves this often in a row, well before ConnectionTimeout, are a server that will not hold them. */
const maxQuickEnds = 3;

interface Member {
  id: string;
  user: string;
  folders: FolderName[];
  folderNames: ReadonlyMap<string, FolderName>;
  log: ExhLogger;
  onEvent: (event: SubscriptionEvent) => void;
  /** EwsMailbox.holdOff of its mailbox. */
  holdOff: (ms: number) => void;
}

export interface StreamGroupsDeps {
  transport: EwsTransport;
  pool: ExchangePool;
  logger: ExhLogger;
  tuning: Tuning;
}

class StreamGroup {
  readonly affinity: Affinity;
  readonly members = new Map<string, Member>();
  /** Joins under way (Subscribe sent), so that a group never takes more than 200. */
  joining = 0;
  /** The anchor's Subscribe: the others wait for its answer, which sets the cookie they send. */
  first: Promise<unknown> | undefined;
  #stream: OpenStream | undefined;
  /** Each stream's generation: what an older stream reports after it was replaced is ignored. */
  #generation = 0;
  #timer: NodeJS.Timeout | undefined;
  #quickEnds = 0;
  #stop = new AbortController();

  constructor(
    readonly key: string,
    readonly target: Omit<SoapTarget, 'user'>,
    anchor: string,
    private readonly deps: StreamGroupsDeps,
    private readonly onEmpty: (group: StreamGroup) => void,
  ) {
    this.affinity = { anchor, cookie: undefined };
  }

  get size(): number {
    return this.members.size + this.joining;
  }

  /** Opens the stream again with the current members, after the joins and leaves of the next moments. */
  regroup(delayMs = this.deps.tuning.streamRegroupMs): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#open();
    }, delayMs);
  }

  /** Adds a subscription: the next stream carries it, and tells it what happens to the connection. */
  join(member: Member): void {
    this.members.set(member.id, member);
    this.regroup();
  }

  leave(id: string): void {
    if (!this.members.delete(id)) return;
    if (this.size === 0) this.close();
    else this.regroup();
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#generation++;
    this.#stop.abort();
    this.#stop = new AbortController();
    this.#stream?.close();
    this.#stream = undefined;
    this.onEmpty(this);
  }

  #lose(member: Member, error: ExhError): void {
    if (!this.members.delete(member.id)) return;
    // A stream refused with ErrorServerBusy asks its mailboxes for quiet: what each would send meanwhile (the
    // Unsubscribe of the subscription it closes, a sync still under way) waits as after any request of its own.
    const backOffMs = error.code === 'EXH_EXCHANGE_THROTTLED' ? error.details.backOffMs : undefined;
    if (typeof backOffMs === 'number') member.holdOff(backOffMs);
    member.log.warn(
      { subscription: fingerprint(member.id), code: error.code },
      `Streaming subscription lost: ${error.message}`,
    );
    notifySafely(member.log, member.id, member.onEvent, { type: 'lost', error: toLost(error) });
  }

  /** The connection is over: every mailbox on it is told, and subscribes again. */
  #loseAll(error: ExhError): void {
    this.#generation++;
    this.#stream?.close();
    this.#stream = undefined;
    for (const member of [...this.members.values()]) this.#lose(member, error);
    if (this.size === 0) this.close();
  }

  async #open(): Promise<void> {
    const generation = ++this.#generation;
    this.#stream?.close();
    this.#stream = undefined;
    const members = [...this.members.values()];
    if (members.length === 0) {
      if (this.size === 0) this.close();
      return;
    }
    // The anchor left (its mailbox unregistered, or its subscription lost): a mailbox the connection carries anchors the
    // group from now on, so that the connection never impersonates one that may be gone from Exchange, which would
    // fail it for every mailbox on it (docs/exchange-on-premises.md, "What exh does"). The cookie stays: same server.
    const anchor = this.affinity.anchor.toLowerCase();
    if (!members.some((m) => m.user.toLowerCase() === anchor)) this.affinity.anchor = (members[0] as Member).user;
    const { tuning, pool, transport } = this.deps;
    const minutes = Math.min(30, Math.max(1, Math.round(tuning.streamingConnectionMinutes)));
    const target: SoapTarget = { ...this.target, user: this.affinity.anchor };
    const ids = members.map((m) => `<t:SubscriptionId>${escapeXml(m.id)}</t:SubscriptionId>`).join('');
    const body = soapEnvelope(
      target,
      `<m:GetStreamingEvents><m:SubscriptionIds>${ids}</m:SubscriptionIds>` +
        `<m:ConnectionTimeout>${minutes}</m:ConnectionTimeout></m:GetStreamingEvents>`,
    );
    const quickEndMs = Math.min(1_000, (minutes * tuning.minuteMs) / 2);
    const openedAt = Date.now();
    const current = () => generation === this.#generation;
    const signal = this.#stop.signal;
    try {
      const stream = await pool.run(
        (requestSignal) =>
          transport.openStream(
            target.url,
            body,
            affinityHeaders(target, this.affinity),
            requestSignal,
            { user: target.user, account: target.account },
            {
              silenceMs: tuning.streamSilenceMs,
              onEnvelope: (envelope) => {
                if (current()) this.#deliver(envelope);
              },
              onEnd: (error) => {
                if (!current()) return;
                this.#stream = undefined;
                if (error) {
                  this.#loseAll(error);
                  return;
                }
                this.#quickEnds = Date.now() - openedAt < quickEndMs ? this.#quickEnds + 1 : 0;
                if (this.#quickEnds >= maxQuickEnds) {
                  this.#quickEnds = 0;
                  this.#loseAll(
                    errors.subscriptionLost(target.user, 'Exchange ends every notification stream at once'),
                  );
                  return;
                }
                void this.#open();
              },
            },
          ),
        { priority: 'live', signal, mailbox: target.user },
      );
      if (!current()) {
        stream.close();
        return;
      }
      this.#stream = stream;
    } catch (error) {
      if (!current()) return;
      const failure = isExhError(error) ? error : errors.subscriptionLost(target.user, String(error), error);
      this.#loseAll(failure);
    }
  }

  #deliver(envelope: string): void {
    let messages: ReturnType<typeof all>;
    try {
      messages = all(
        at(parseXml(envelope), 'Envelope', 'Body', 'GetStreamingEventsResponse', 'ResponseMessages'),
        'GetStreamingEventsResponseMessage',
      );
    } catch (error) {
      this.#loseAll(
        errors.subscriptionLost(this.affinity.anchor, `an unreadable notification: ${(error as Error).message}`),
      );
      return;
    }
    const changed = new Map<Member, string[]>();
    for (const message of messages) {
      const fault = responseMessageFault(message);
      if (fault) {
        // ErrorSubscriptionIds names the subscriptions concerned; without it the whole connection failed.
        const named = all(at(message, 'ErrorSubscriptionIds'), 'SubscriptionId').map((n) => (textOf(n) ?? '').trim());
        const context = errorContext({ ...this.target, user: this.affinity.anchor });
        if (named.length === 0) {
          this.#loseAll(fromResponseCode(fault, context));
          return;
        }
        for (const id of named) {
          const member = this.members.get(id);
          if (member) this.#lose(member, fromResponseCode(fault, { ...context, user: member.user }));
        }
      }
      for (const notification of all(at(message, 'Notifications'), 'Notification')) {
        const summary = summarize(notification);
        const member = this.members.get(summary.subscriptionId);
        if (!member || summary.changes === 0) continue;
        changed.set(member, [...(changed.get(member) ?? []), ...summary.folderIds]);
      }
    }
    for (const [member, folderIds] of changed) {
      if (!this.members.has(member.id)) continue;
      notifySafely(member.log, member.id, member.onEvent, {
        type: 'changed',
        folders: changedFolders(folderIds, member.folders, member.folderNames),
      });
    }
    if (this.size === 0) this.close();
  }
}

/** Every streaming group of one EWS adapter. */
export class StreamGroups {
  readonly #groups = new Map<string, StreamGroup[]>();

  constructor(private readonly deps: StreamGroupsDeps) {}

  /** How many groups (streaming connections) there are, and their sizes: for tests and metrics. */
  sizes(): number[] {
    return [...this.#groups.values()].flat().map((g) => g.members.size);
  }

  #place(mailbox: EwsMailbox): StreamGroup {
    const key = `${mailbox.target.url}\n${mailbox.groupingInformation}`;
    const groups = this.#groups.get(key) ?? [];
    let group = groups.find((g) => g.size < maxSubscriptionsPerConnection);
    if (!group) {
      const { url, account, version } = mailbox.target;
      group = new StreamGroup(key, { url, account, version }, mailbox.user, this.deps, (empty) => {
        const left = (this.#groups.get(empty.key) ?? []).filter((g) => g !== empty);
        if (left.length > 0) this.#groups.set(empty.key, left);
        else this.#groups.delete(empty.key);
      });
      groups.push(group);
      this.#groups.set(key, groups);
    }
    group.joining++;
    return group;
  }

  async subscribe(
    mailbox: EwsMailbox,
    folders: FolderName[],
    onEvent: (event: SubscriptionEvent) => void,
    options: CallOptions,
  ): Promise<Subscription> {
    const group = this.#place(mailbox);
    let id: string;
    try {
      if (group.first) await group.first.catch(() => undefined);
      const subscribing = subscribeInGroup(mailbox, group.affinity, folders, options);
      group.first ??= subscribing;
      id = await subscribing;
    } catch (error) {
      group.joining--;
      if (group.size === 0) group.close();
      throw error;
    }
    group.joining--;
    const log = mailbox.logger;
    const member: Member = {
      id,
      user: mailbox.user,
      folders,
      folderNames: mailbox.folderNames,
      log,
      onEvent,
      holdOff: (ms) => mailbox.holdOff(ms),
    };
    const leave = () => group.leave(id);
    // Stopped while Subscribe was under way: the subscription made meanwhile is not wanted.
    if (options.signal.aborted) {
      if (group.size === 0) group.close();
      void unsubscribeInGroup(mailbox, group.affinity, id);
      throw errors.poolAborted();
    }
    // The caller's signal ends the subscription as close() does, silently.
    options.signal.addEventListener('abort', leave, { once: true });
    // Resolving now, before the group's stream carries it, is what lets the catch-up start at once: the events of
    // the meantime wait in the subscription at Exchange, and a stream that then fails is a `lost` event.
    group.join(member);
    log.action(
      { subscription: fingerprint(id), folders, anchor: group.affinity.anchor },
      `Streaming subscription for ${folders.join(', ')}`,
    );
    return {
      id,
      close: async () => {
        options.signal.removeEventListener('abort', leave);
        leave();
        await unsubscribeInGroup(mailbox, group.affinity, id);
      },
    };
  }

  close(): void {
    for (const group of [...this.#groups.values()].flat()) group.close();
  }
}
