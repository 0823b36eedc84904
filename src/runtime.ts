import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { type Actor, assign, createActor, toPromise } from 'xstate';
import { createDatabaseActors } from '../actors/database.actors.js';
import { createDatabaseListenerActor } from '../actors/database-listener.actors.js';
import { createHttpActor } from '../actors/http.actors.js';
import { createItemTypeActors } from '../actors/item-type.actors.js';
import { createLogFeedActor } from '../actors/listeners.actors.js';
import { createMailboxActors } from '../actors/mailbox.actors.js';
import { createMembershipActors } from '../actors/membership.actors.js';
import { createOutboxActor } from '../actors/outbox.actors.js';
import { createSupervisorActors, readUsers } from '../actors/supervisor.actors.js';
import { databaseMachine } from '../machines/database.machine.js';
import { itemTypeMachine } from '../machines/item-type.machine.js';
import { mailboxMachine } from '../machines/mailbox.machine.js';
import { mailboxesMachine } from '../machines/mailboxes.machine.js';
import { membershipMachine } from '../machines/membership.machine.js';
import type { Report } from '../machines/report.js';
import { supervisorMachine } from '../machines/supervisor.machine.js';
import { fencedDatabase } from './cluster/fenced-database.js';
import { defaultInstanceId, Membership } from './cluster/membership.js';
import type { Config } from './config/schema.js';
import { createControl } from './control/control.js';
import { createDatabase } from './db/create-database.js';
import { describe, errors } from './errors.js';
import { observeRuntime } from './http/observe-runtime.js';
import type { LogFeed } from './logging/log-feed.js';
import type { ExhLogger, Logging } from './logging/logger.js';
import { Connections } from './mailbox/connections.js';
import { CommittedWatermarks, SyncLocks, syncLockKey } from './mailbox/sync-locks.js';
import { instrumentDatabase } from './metrics/instrument-database.js';
import { instrumentExchange } from './metrics/instrument-exchange.js';
import { Metrics } from './metrics/metrics.js';
import { ExchangePool } from './pool/exchange-pool.js';
import type { ControlPort } from './ports/control.port.js';
import type { DatabasePort, SetUp, UserRegistration } from './ports/database.port.js';
import type { ExchangePort } from './ports/exchange.port.js';
import { clusterWide, createPeerBroadcast, forwardToHolder, peerTls } from './protocol/forwarding.js';
import type { DatabaseListener } from './protocol/listener.js';
import { InspectionHub } from './statecharts/inspection.js';
import type { ConflictSettings, LeaseCheck } from './sync/executors/outbox.js';
import type { OutboxWorkers } from './sync/executors/outbox-workers.js';
import { OwnWrites } from './sync/executors/own-writes.js';
import { version } from './version.js';

export interface RuntimeOptions {
  config: Config;
  logging: Logging;
  /** Tests and the demo pass an adapter they built; otherwise it is made from config.database. */
  db?: DatabasePort;
  /** The Exchange backend (EWS today), built over `pool` by the caller: src/cli.ts or a test. */
  exchange: (pool: ExchangePool) => ExchangePort;
  /** exh start --inspect: xstate's inspection events streamed at /api/inspect (docs/dashboard.md). */
  inspect?: boolean;
  /** The Graph webhook receiver's notifications by outcome (ExchangeBackend.graphNotifications), for the metrics. */
  graphNotifications?: () => Readonly<Record<string, number>>;
}

export interface Runtime {
  actor: Actor<typeof supervisorMachine>;
  /** Resolves when the supervisor has stopped: exit code 0 after a requested stop, 1 after a fatal error. */
  done: Promise<{ exitCode: number }>;
  /** Asks for a graceful stop (mailboxes, listeners, pools) and waits for it. */
  stop(): Promise<{ exitCode: number }>;
  /** exh_sync_users, exh_sync_item and retrying failed work, for the dashboard and the CLI. */
  control: ControlPort;
}

/**
 * The composition root: the one place where machines meet their effects. Everything real (database adapter,
 * Exchange pool, listeners, logger) is built here and handed to the actor factories in actors/.
 */
export function startRuntime(options: RuntimeOptions): Runtime {
  const { config, logging } = options;
  const logger = logging.logger;
  // Metrics by decorators around the ports: the sync core and the adapters stay as they are.
  const metrics = new Metrics();
  if (options.graphNotifications) metrics.observeGraphNotifications(options.graphNotifications);
  const inspection = new InspectionHub();
  const setUp = databaseSetUp(config);
  const instrumented = instrumentDatabase(options.db ?? createDatabase(config.database), metrics);
  // Several instances on one database (docs/scale-out.md): each mailbox runs where its lease is held, and every
  // watermark write and outbox completion carries the lease's fence. Without `cluster`, one instance as before.
  const membership = config.cluster ? clusterMembership(config, instrumented, setUp) : undefined;
  const db: DatabasePort = membership
    ? fencedDatabase(instrumented, {
        instanceId: membership.self.instanceId,
        fenceOf: (user) => membership.fenceOf(user),
        holds: (user) => membership.holds(user),
        isCoordinator: (): boolean => actor.getSnapshot().context.coordinator,
      })
    : instrumented;
  // Asked right before each write to Exchange of an outbox row or a sender's change: Exchange has no fence, so an
  // instance whose lease ended writes nothing more there (docs/scale-out.md, "The fence").
  const lease: LeaseCheck | undefined = membership
    ? { instanceId: membership.self.instanceId, owns: (user) => membership.owns(user) }
    : undefined;
  const pool = new ExchangePool(config.exchange.concurrency);
  const backend = options.exchange(pool);
  // Graph allows so many requests per mailbox; EWS sets no limit of its own (docs/configuration.md, exchange).
  pool.limitPerMailbox(backend.capabilities.requestsPerMailbox);
  // exchange.notifications is EWS's; a backend serving Graph mailboxes only needs none of it (exchange.graph.notifications
  // is one of Graph's kinds by the schema).
  if (
    config.exchange.backend !== 'graph' &&
    !backend.capabilities.notifications.includes(config.exchange.notifications)
  ) {
    throw errors.configInvalid('configuration', [
      `exchange.notifications: "${config.exchange.notifications}" is not offered by this Exchange backend; use one of ` +
        backend.capabilities.notifications.map((kind) => `"${kind}"`).join(', '),
    ]);
  }
  const exchange = instrumentExchange(backend, metrics);
  const http = { listener: undefined as { close(): Promise<void> } | undefined };
  const connections = new Connections();
  const locks = new SyncLocks();
  const committed = new CommittedWatermarks();
  /** The outbox's workers while its actor runs (a cluster lets a user's row in flight settle before its lease goes). */
  let outboxWorkers: OutboxWorkers | undefined;
  const feeds = new Set<LogFeed>();
  const listeners = { database: undefined as DatabaseListener | undefined };
  const settings = { ...config.sync, pageSize: 512 };
  // The outbox tells the sync what it wrote, so that the echo is not applied again (src/sync/decisions/echo.ts).
  const ownWrites = new OwnWrites();
  // The application's writes and the sync of the same mailbox and type take turns (docs/reliability.md, "Conflicts").
  const conflicts: ConflictSettings = {
    rule: config.sync.conflicts,
    exclusive: (user, itemTypeName, work) => locks.run(syncLockKey(user, itemTypeName), work),
    ownWrites,
  };
  // Ends resynchronisations in progress when the connector stops.
  const stopping = new AbortController();
  const control = createControl({
    db,
    connections,
    locks,
    settings,
    logger,
    users: () => actor.getSnapshot().context.users,
    requestUsersSync: () => actor.send({ type: 'users.sync' }),
    signal: stopping.signal,
    conflicts,
    lease,
    ...(membership ? { runsHere: (user: string) => membership.owns(user) } : {}),
  });
  // In a cluster, requests about every mailbox reach every instance (docs/senders.md, "Several instances").
  const peers = membership
    ? createPeerBroadcast({
        instanceId: membership.self.instanceId,
        view: () => membership.view(),
        token: setUp.token,
        ...(config.listeners.database.tls ? { tls: peerTls(config.listeners.database.tls.certFile) } : {}),
        leaseMs: membership.self.leaseSeconds * 1000,
        logger,
      })
    : undefined;
  // exh_set_up must carry the port the listener really got (0 picks one), so start-up waits for it.
  let listenerReady!: () => void;
  const listening = new Promise<void>((resolve) => {
    listenerReady = resolve;
  });
  if (!config.listeners.database.enabled) listenerReady();

  const supervisorActors = createSupervisorActors({
    db,
    pool,
    setUp: async () => {
      await listening;
      return setUp;
    },
    logger,
    committed,
    // Within the 10 s a stop has (docs/operations.md), the rest of the shutdown after it.
    subscriptionsClosed: () => connections.closed(5_000),
    ...(membership ? { leaveCluster: () => membership.leave() } : {}),
    closeListeners: async () => {
      await listeners.database?.close();
      await http.listener?.close();
      await Promise.all([...feeds].map((feed) => feed.close()));
    },
  });
  const machine = supervisorMachine.provide({
    actions: { report: reporter(logger.child({ actor: 'supervisor' })) },
    actors: {
      database: databaseMachine.provide({
        actions: { report: reporter(logger.child({ actor: 'database' })) },
        actors: createDatabaseActors({ db }),
      }),
      membership: membershipMachine.provide({
        actions: { report: reporter(logger.child({ actor: 'membership' })) },
        ...(membership
          ? {
              actors: createMembershipActors(membership, {
                readUsers: () => readUsers({ db, logger }),
                forgetCommitted: (users) => committed.forget(users),
                outbox: () => outboxWorkers,
                releaseFailed: (users, error) =>
                  logger.warn(
                    { err: error, event: 'cluster.releaseFailed', users },
                    `Releasing leases after their outbox rows settled failed: ${describe(error)}; they end within ${config.cluster?.leaseSeconds} s`,
                  ),
              }),
            }
          : {}),
      }),
      mailboxes: mailboxesMachine.provide({
        actions: { report: reporter(logger.child({ actor: 'mailboxes' })) },
        actors: {
          mailbox: mailboxMachine.provide({
            actions: {
              report: ({ context }, params) => report(logger.child({ actor: 'mailbox', user: context.user }), params),
              // The back-off's jitter, so that mailboxes failing together do not come back together.
              drawJitter: assign({ jitter: () => Math.random() }),
            },
            actors: {
              ...createMailboxActors({
                exchange,
                db,
                connections,
                // Each mailbox takes the first its backend offers: EWS's kind, or Graph's (src/exchange/routing.ts).
                notifications: [config.exchange.notifications, config.exchange.graph.notifications],
                logger,
              }),
              itemType: itemTypeMachine.provide({
                actions: {
                  report: ({ context }, params) =>
                    report(logger.child({ actor: 'itemType', user: context.user, itemType: context.itemType }), params),
                },
                actors: createItemTypeActors({
                  db,
                  connections,
                  logger,
                  settings,
                  locks,
                  committed,
                  ownWrites,
                }),
              }),
            },
          }),
        },
      }),
      logFeed: createLogFeedActor({
        ...config.listeners.log,
        hub: logging.hub,
        banner: `exh ${version} log feed on ${config.listeners.log.host}:${config.listeners.log.port}`,
        logger,
        onListening: (feed) => feeds.add(feed),
      }),
      databaseListener: createDatabaseListenerActor({
        ...config.listeners.database,
        token: setUp.token,
        db,
        connections,
        control,
        isRegistered: (user) => isRegistered(actor.getSnapshot().context.users, user),
        logger,
        maxAttachmentBytes: config.sync.maxAttachmentBytes,
        // A sender's request comes from inside the application's transaction, which holds the row's lock until the
        // request is answered; a sync that holds the lock while it waits for that row would never let go. So a
        // sender's change does not wait for the sync (docs/reliability.md, "Conflicts").
        conflicts: { ...conflicts, exclusive: (_user, _itemType, work) => work() },
        lease,
        // Several instances: a request for a user whose lease another instance holds is handed on to it
        // (docs/senders.md, "Several instances"). One instance answers everything itself, as before.
        route: membership
          ? (local) =>
              forwardToHolder(local, {
                instanceId: membership.self.instanceId,
                holds: (user) => membership.owns(user),
                isRegistered: (user) => isRegistered(actor.getSnapshot().context.users, user),
                view: () => membership.view(),
                token: setUp.token,
                ...(config.listeners.database.tls ? { tls: peerTls(config.listeners.database.tls.certFile) } : {}),
                leaseMs: membership.self.leaseSeconds * 1000,
                logger,
              })
          : undefined,
        onListening: (address) => {
          setUp.port = address.port;
          if (membership && config.cluster?.port === undefined) membership.self.port = address.port;
          listenerReady();
        },
        track: (listener) => {
          listeners.database = listener;
        },
      }),
      outbox: createOutboxActor({
        db,
        connections,
        // exh_sync_users and exh_sync_item rows without a user are the coordinator's: it passes them to the others.
        control: peers ? clusterWide(control, peers) : control,
        logger,
        isRegistered: (user) => isRegistered(actor.getSnapshot().context.users, user),
        pollMs: config.sync.outboxPollMs,
        maxAttachmentBytes: config.sync.maxAttachmentBytes,
        conflicts,
        sharedOutbox: membership !== undefined,
        lease,
        ...(membership
          ? {
              expose: (workers: OutboxWorkers | undefined) => {
                outboxWorkers = workers;
              },
            }
          : {}),
      }),
      http: createHttpActor({
        ...config.listeners.http,
        logger,
        app: {
          allowedHosts: config.listeners.http.allowedHosts,
          ...observeRuntime({
            root: () => actor,
            databaseTarget: db.target,
            pool,
            hub: logging.hub,
            metrics,
            inspection,
            control,
            adminToken: config.listeners.http.adminToken,
            inspect: options.inspect === true,
            ...(membership ? { cluster: membership } : {}),
          }),
        },
        onListening: (listener) => {
          http.listener = listener;
        },
      }),
      startUp: supervisorActors.startUp,
      readUsers: supervisorActors.readUsers,
      shutdown: supervisorActors.shutdown,
    },
  });

  const actor = createActor(machine, {
    inspect: inspection.inspect,
    input: {
      database: {
        target: db.target,
        retryIntervalMs: config.retry.databaseIntervalMs,
        firstRetryMs: config.retry.databaseFirstMs,
        probeIntervalMs: config.database.probeIntervalMs,
        probeTimeoutMs: config.database.probeTimeoutMs,
      },
      maxRestarts: config.retry.mailboxRestarts.max,
      restartWindowMs: config.retry.mailboxRestarts.windowMs,
      maxPermanentFailures: config.retry.permanentFailures,
      backoff: config.retry.exchangeBackoff,
      usersRefreshMs: config.sync.usersRefreshMs,
      ...(config.cluster
        ? { cluster: { leaseSeconds: config.cluster.leaseSeconds, heartbeatSeconds: config.cluster.heartbeatSeconds } }
        : {}),
    },
  });
  const done = toPromise(actor).then(
    () => {
      stopping.abort();
      return { exitCode: actor.getSnapshot().context.fatalError ? 1 : 0 };
    },
    (error: unknown) => {
      stopping.abort();
      logger.fatal({ err: error }, 'The supervisor crashed');
      return { exitCode: 1 };
    },
  );
  logger.action({ version, database: db.target }, `exh ${version} starting`);
  actor.start();
  return {
    actor,
    done,
    stop: () => {
      stopping.abort();
      actor.send({ type: 'service.stop' });
      return done;
    },
    control,
  };
}

/** This instance in the cluster, over the database's ClusterPort; a database without one is a configuration error. */
function clusterMembership(config: Config, db: DatabasePort, setUp: SetUp): Membership {
  const cluster = config.cluster;
  if (!cluster) throw new Error('clusterMembership without a cluster configuration');
  if (!db.cluster) {
    throw errors.configInvalid('configuration', [
      `cluster: the database adapter for ${db.target} has no cluster support; remove \`cluster\` to run one instance`,
    ]);
  }
  return new Membership(
    db.cluster,
    {
      instanceId: cluster.instanceId ?? defaultInstanceId(),
      address: cluster.address ?? setUp.ipAddress,
      port: cluster.port ?? setUp.port,
      leaseSeconds: cluster.leaseSeconds,
      heartbeatSeconds: cluster.heartbeatSeconds,
    },
    undefined,
    // The coordinator keeps exh_ip_addresses (every live instance's listener) for the senders (docs/senders.md).
    {
      read: async () => (await db.readSetUp()).addresses,
      write: (addresses) => db.writeSetUp({ ...setUp, addresses }),
    },
  );
}

/** Whether exh_get_users returned the user (addresses compared case-blind, as the supervisor reduces them). */
function isRegistered(users: readonly UserRegistration[], user: string): boolean {
  const wanted = user.toLowerCase();
  return users.some((registration) => registration.user.toLowerCase() === wanted);
}

/** What exh_set_up gets: where the database's senders reach this instance, and the token they must send. */
export function databaseSetUp(config: Config): SetUp {
  const listener = config.listeners.database;
  return {
    ipAddress: listener.advertisedAddress ?? advertisedHost(listener.host),
    port: listener.port,
    token: listener.token ?? randomBytes(24).toString('base64url'),
  };
}

function advertisedHost(host: string): string {
  if (host !== '0.0.0.0' && host !== '::') return host;
  const external = Object.values(networkInterfaces())
    .flat()
    .find((address) => address && address.family === 'IPv4' && !address.internal);
  return external?.address ?? '127.0.0.1';
}

const levelOf = { E: 'error', W: 'warn', A: 'action', M: 'info' } as const;

export function report(logger: ExhLogger, params: Report): void {
  const { category, message, retryInMs, ...fields } = params;
  const nextRetryAt = retryInMs === undefined ? undefined : new Date(Date.now() + retryInMs).toISOString();
  const text = nextRetryAt ? `${message} (at ${nextRetryAt})` : message;
  logger[levelOf[category]]({ ...fields, ...(nextRetryAt ? { nextRetryAt } : {}) }, text);
}

function reporter(logger: ExhLogger) {
  return (_: unknown, params: Report) => report(logger, params);
}
