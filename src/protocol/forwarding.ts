import { readFile } from 'node:fs/promises';
import { describe, errors } from '../errors.js';
import type { ExhLogger } from '../logging/logger.js';
import type { ControlPort, SyncItemsOutcome, SyncItemsProgress } from '../ports/control.port.js';
import type { ClusterView } from '../ports/database.port.js';
import { type ListenerTarget, notConnected, offlineMessage, type SendOptions, sendRequest } from './client.js';
import type { RequestContext, RequestHandler } from './listener.js';
import { type DatabaseRequest, toWireSyncItems, type WireRequest } from './messages.js';
import { ok, type Reply, replyForError } from './replies.js';

/** What the forwarding needs of this instance and the cluster (wired in src/runtime.ts). */
export interface ForwardingDeps {
  instanceId: string;
  /** Whether this instance holds the user's lease now (Membership.fenceOf): then the request is answered here. */
  holds: (user: string) => boolean;
  /** Whether exh_get_users returned the user: an unknown user is answered here (EXH_MAILBOX_UNKNOWN), as before. */
  isRegistered: (user: string) => boolean;
  /** Members and unexpired leases, from the database (ClusterPort.clusterView). */
  view: () => Promise<ClusterView>;
  /** listeners.database.token: every instance of a cluster has the same one. */
  token: string;
  /** How the peers' listeners are spoken to: TLS when listeners.database.tls is set (the same certificate on each). */
  tls?: () => Promise<ListenerTarget['tls']>;
  logger: ExhLogger;
  /** How long a view of the leases is used before it is read again (a miss reads it at once); default 2 s. */
  cacheMs?: number;
  /** cluster.leaseSeconds in ms: a member whose heartbeat is older than the newest one by more is not sent to. */
  leaseMs?: number;
  /** The reply's time-out for a forwarded request, as a sender's (docs/senders.md): default 130 s. */
  timeoutMs?: number;
  now?: () => number;
}

/** Where a user's mailbox runs: the lease's holder and the listener it registered in exh_member. */
interface Holder {
  instanceId: string;
  target: { host: string; port: number };
}

/**
 * Any instance of a cluster answers a sender (docs/senders.md, "Several instances"): a request for a registered user
 * whose lease another live instance holds is handed on to that instance's database listener (its exh_member address
 * and port) with the shared token, marked `forwardedBy`, and its reply — progress lines included — relayed as it
 * comes. A forwarded request is never forwarded again: arriving at an instance that does not hold the lease (it moved
 * meanwhile) it is answered EXH_CLUSTER_OWNER_MOVED, and a user no instance holds is EXH_CLUSTER_NO_HOLDER; both
 * tell the sender to retry. Requests without a user (ping, syncUsers, syncItems for every user) stay here.
 */
export function forwardToHolder(local: RequestHandler, deps: ForwardingDeps): RequestHandler {
  const log = deps.logger.child({ actor: 'forwarding' });
  const cacheMs = deps.cacheMs ?? 2_000;
  const now = deps.now ?? (() => performance.now());
  let cached: { at: number; holders: Map<string, Holder> } | undefined;
  let reading: Promise<Map<string, Holder>> | undefined;

  /** Reads the view once for everyone asking at the same time. */
  const refresh = (): Promise<Map<string, Holder>> => {
    reading ??= deps
      .view()
      .then((view) => {
        const holders = holdersOf(view);
        cached = { at: now(), holders };
        return holders;
      })
      .finally(() => {
        reading = undefined;
      });
    return reading;
  };
  const holderOf = async (user: string, fresh: boolean): Promise<Holder | undefined> => {
    const key = user.toLowerCase();
    if (!fresh && cached && now() - cached.at < cacheMs) {
      const known = cached.holders.get(key);
      if (known) return known;
    }
    return (await refresh()).get(key);
  };

  const send = async (holder: Holder, request: DatabaseRequest, context: RequestContext): Promise<Reply> => {
    const tls = deps.tls ? await deps.tls() : undefined;
    const options: SendOptions = {
      timeoutMs: deps.timeoutMs ?? 130_000,
      ...(request.type === 'syncItems' && request.progress === true
        ? { onProgress: (progress) => context.progress({ ...progress }) }
        : {}),
    };
    const wire = { ...request, token: deps.token, forwardedBy: deps.instanceId } as WireRequest;
    return sendRequest({ ...holder.target, ...(tls ? { tls } : {}) }, wire, options);
  };

  const peers = createPeerBroadcast(deps);

  return async (request, context) => {
    // Requests for every mailbox go to every live instance, each doing its own (never passed on again).
    if (context.forwardedBy === undefined && request.type === 'syncUsers') {
      const reply = await local(request, context);
      void peers(request);
      return reply;
    }
    if (context.forwardedBy === undefined && request.type === 'syncItems' && (request.user ?? null) === null) {
      const progress = request.progress === true ? (p: SyncItemsProgress) => context.progress({ ...p }) : undefined;
      const [mine, theirs] = await Promise.all([local(request, context), peers(request, progress)]);
      return sumSyncItems(mine, theirs);
    }
    const user = userOf(request);
    if (user === undefined || !deps.isRegistered(user) || deps.holds(user)) return local(request, context);
    if (context.forwardedBy !== undefined) {
      // Between two of its beats this instance may not use a lease the database still gives it: answered here then.
      if ((await holderOf(user, true))?.instanceId === deps.instanceId) return local(request, context);
      return replyForError(errors.clusterOwnerMoved(user, deps.instanceId, context.forwardedBy));
    }
    let holder = await holderOf(user, false);
    for (let attempt = 1; ; attempt++) {
      // The database says this instance holds it, but its lease is not usable here yet (or any more): answered here,
      // which says "not connected, try again" if the mailbox is not live.
      if (holder?.instanceId === deps.instanceId) return local(request, context);
      if (!holder) return replyForError(errors.clusterNoHolder(user, deps.instanceId));
      log.debug(
        { user, type: request.type, holder: holder.instanceId },
        `Handing ${request.type} for ${user} on to instance ${holder.instanceId}, which holds its lease`,
      );
      const reply = await send(holder, request, context);
      // Not connected: nothing reached the holder, so the request may go to whoever holds the lease now, once.
      if (!notConnected(reply)) return reply;
      const before = holder;
      holder = await holderOf(user, true);
      if (attempt === 1 && holder && holder.instanceId !== before.instanceId) continue;
      const where = `${before.target.host}:${before.target.port}`;
      const problem = (reply.errorMessage ?? '').slice(offlineMessage.length + 2);
      return replyForError(errors.clusterHolderUnreachable(user, before.instanceId, where, problem));
    }
  };
}

/** A reply from each other live member of the cluster, for a request about every mailbox. */
export type PeerBroadcast = (
  request: DatabaseRequest,
  onProgress?: (progress: SyncItemsProgress) => void,
) => Promise<Array<{ instanceId: string; reply: Reply }>>;

/**
 * Sends a request to every other live member's listener (docs/senders.md, "Several instances"), marked forwardedBy so
 * that none passes it on again: exh_sync_users (each instance reads exh_get_users again, so a new user's mailbox starts
 * wherever rendezvous puts it) and syncItems for every user (each resynchronises the mailboxes it runs). A member that
 * cannot be reached is logged and its reply is the error.
 */
export function createPeerBroadcast(
  deps: Pick<ForwardingDeps, 'instanceId' | 'view' | 'token' | 'tls' | 'logger' | 'timeoutMs' | 'leaseMs'>,
): PeerBroadcast {
  const log = deps.logger.child({ actor: 'forwarding' });
  return async (request, onProgress) => {
    let targets: Holder[];
    try {
      targets = peersOf(await deps.view(), deps.instanceId, deps.leaseMs ?? 20_000);
    } catch (error) {
      log.warn(
        { err: error, type: request.type },
        `${request.type} was not sent to the other instances: ${describe(error)}`,
      );
      return [{ instanceId: '(cluster view)', reply: replyForError(error) }];
    }
    const tls = deps.tls ? await deps.tls() : undefined;
    return Promise.all(
      targets.map(async (peer) => {
        const wire = { ...request, token: deps.token, forwardedBy: deps.instanceId } as WireRequest;
        const reply = await sendRequest({ ...peer.target, ...(tls ? { tls } : {}) }, wire, {
          timeoutMs: deps.timeoutMs ?? 130_000,
          ...(onProgress ? { onProgress } : {}),
        });
        if (reply.exitCode !== 0) {
          log.warn(
            { instance: peer.instanceId, type: request.type, exitCode: reply.exitCode },
            `${request.type} on instance ${peer.instanceId} failed: ${reply.errorMessage ?? ''}`,
          );
        }
        return { instanceId: peer.instanceId, reply };
      }),
    );
  };
}

/**
 * The ControlPort as the coordinator's outbox uses it for the rows without a user (exh_sync_users, exh_sync_item for
 * every user): done here and sent to every other live instance, the counts added up.
 */
export function clusterWide(control: ControlPort, peers: PeerBroadcast): ControlPort {
  return {
    ...control,
    syncUsers: () => {
      control.syncUsers();
      void peers({ type: 'syncUsers' });
    },
    syncItems: async (request, onProgress) => {
      if (request.user !== null) return control.syncItems(request, onProgress);
      const [mine, theirs] = await Promise.all([
        control.syncItems(request, onProgress),
        peers(toWireSyncItems(request), onProgress),
      ]);
      // An instance that did not do its share (logged by the broadcast) counts as one failure, as a mailbox that is
      // not connected does: the row's outcome says something failed, and it can be asked for again.
      const done = theirs.filter((t) => t.reply.exitCode === 0);
      const summed = JSON.parse(sumSyncItems(ok(JSON.stringify(mine)), done).outputValue ?? '{}') as SyncItemsOutcome;
      return { ...summed, failed: summed.failed + theirs.length - done.length };
    },
  };
}

/** The other members whose heartbeat is within a lease of the newest (the database's clock, whatever this host's). */
function peersOf(view: ClusterView, self: string, leaseMs: number): Holder[] {
  const newest = Math.max(0, ...view.members.map((m) => m.heartbeatAt.getTime()));
  return view.members
    .filter((m) => m.instanceId !== self && m.heartbeatAt.getTime() >= newest - leaseMs)
    .map((m) => ({ instanceId: m.instanceId, target: { host: m.address, port: m.port } }));
}

/** syncItems for every user: the counts of every instance added up; the first failure (local first) otherwise. */
export function sumSyncItems(mine: Reply, theirs: ReadonlyArray<{ instanceId: string; reply: Reply }>): Reply {
  const failed = [mine, ...theirs.map((t) => t.reply)].find((reply) => reply.exitCode !== 0);
  if (failed) return failed;
  const total: SyncItemsOutcome = { added: 0, changed: 0, deleted: 0, failed: 0 };
  for (const reply of [mine, ...theirs.map((t) => t.reply)]) {
    const outcome = JSON.parse(reply.outputValue ?? '{}') as Partial<SyncItemsOutcome>;
    total.added += outcome.added ?? 0;
    total.changed += outcome.changed ?? 0;
    total.deleted += outcome.deleted ?? 0;
    total.failed += outcome.failed ?? 0;
  }
  return { ...mine, outputValue: JSON.stringify(total) };
}

/** The user a request is about, when it is about one mailbox. */
function userOf(request: DatabaseRequest): string | undefined {
  switch (request.type) {
    case 'item':
    case 'addAttachment':
    case 'getAttachment':
      return request.user;
    case 'syncItems':
      return request.user ?? undefined;
    default:
      return undefined;
  }
}

/** Each unexpired lease whose holder has a member row, by lower(user). */
function holdersOf(view: ClusterView): Map<string, Holder> {
  const members = new Map(view.members.map((m) => [m.instanceId, m]));
  const holders = new Map<string, Holder>();
  for (const lease of view.leases) {
    const member = members.get(lease.instanceId);
    if (!member) continue;
    holders.set(lease.user.toLowerCase(), {
      instanceId: lease.instanceId,
      target: { host: member.address, port: member.port },
    });
  }
  return holders;
}

/**
 * How an instance speaks to the other instances' listeners when listeners.database.tls is set: trusting the
 * certificate of its own certFile (every instance of a cluster has the same one, from one Secret; a file holding the
 * chain trusts its CA), whatever address the peer registered, since an instance's address (a pod's IP) is seldom a
 * name in the certificate. The token is sent only over such a connection. The file is read once.
 */
export function peerTls(certFile: string): () => Promise<NonNullable<ListenerTarget['tls']>> {
  let read: Promise<NonNullable<ListenerTarget['tls']>> | undefined;
  return () => {
    read ??= readFile(certFile).then((ca) => ({ ca, checkServerIdentity: () => undefined }));
    return read;
  };
}
