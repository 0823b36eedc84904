import { z } from 'zod';
import { conflictRules, defaultConflictRule } from '../sync/decisions/conflicts.js';

/**
 * The configuration: the original service's settings (ExchangeSyncService.exe.config) under recognisable keys; each
 * key's original setting is in docs/configuration.md, "Environment variables".
 * Objects are strict, so a misspelt key stops start-up instead of being silently ignored.
 * Keys named in `secretKeys` are masked by `exh config check` and redacted from logs.
 */

const port = z.number().int().min(0).max(65535);
const host = z.string().min(1);
const ms = z.number().int().positive();

/** The fields every listener has; each listener adds its own. */
const listenerShape = (defaultPort: number, defaultHost = '127.0.0.1') => ({
  enabled: z.boolean().default(true),
  host: host.default(defaultHost),
  port: port.default(defaultPort),
});

export const databaseTypes = ['postgres', 'pglite', 'sqlserver', 'db2'] as const;

const database = z
  .strictObject({
    type: z.enum(databaseTypes, {
      error: `expected one of ${databaseTypes.join(', ')} (the original service's DatabaseType: SQLServer → sqlserver, iSeries → db2)`,
    }),
    /** postgres://…, a SQL Server connection string, or a DB2 connection string. */
    connectionString: z.string().min(1).optional(),
    /** PGlite's data directory; absent: in memory (nothing kept after a stop). */
    dataDir: z.string().min(1).optional(),
    /** How often a ready connection is checked with a round trip. */
    probeIntervalMs: ms.default(30_000),
    /** A probe without an answer within this time means the connection is lost. */
    probeTimeoutMs: ms.default(10_000),
    /**
     * Pooled connections (postgres, sqlserver); the probe and PostgreSQL's LISTEN have one each besides. A call that
     * waits longer than 10 s (SQL Server 30 s) for one is EXH_DB_POOL_EXHAUSTED and tried again, which is not a lost database.
     */
    poolSize: z.number().int().min(1).max(1000).default(10),
  })
  .superRefine((value, ctx) => {
    if (value.type !== 'pglite' && !value.connectionString) {
      ctx.addIssue({
        code: 'custom',
        path: ['connectionString'],
        message: `required for database.type "${value.type}" (for example postgres://user@host:5432/db)`,
      });
    }
  });

export const exchangeVersions = [
  'Exchange2007_SP1',
  'Exchange2010',
  'Exchange2010_SP1',
  'Exchange2010_SP2',
  'Exchange2013',
  'Exchange2013_SP1',
  'Exchange2015',
  'Exchange2016',
] as const;

export const exchangeBackends = ['ews', 'graph', 'auto'] as const;
export type ExchangeBackendName = (typeof exchangeBackends)[number];

/**
 * Microsoft Graph (Exchange Online), app-only: docs/exchange-online.md says how to register the application, which
 * permissions it needs and how to limit it to some mailboxes.
 */
const graph = z
  .strictObject({
    /** Graph's v1.0 endpoint; mailboxes are `${baseUrl}/users/{upn}`. */
    baseUrl: z.url().default('https://graph.microsoft.com/v1.0'),
    /** The Entra (Azure AD) tenant: its id or a verified domain. */
    tenant: z.string().min(1).optional(),
    /** The application (client) id of the app registration. */
    clientId: z.string().min(1).optional(),
    /** A client secret; a certificate (clientCertificate) is preferred. */
    clientSecret: z.string().min(1).optional(),
    clientCertificate: z
      .strictObject({
        /** The certificate's SHA-256 thumbprint (hex), as Entra shows it. */
        thumbprintSha256: z.string().regex(/^[0-9A-Fa-f:]{64,95}$/, 'expected a SHA-256 thumbprint in hex'),
        /** The PEM file of the certificate's private key. */
        privateKeyFile: z.string().min(1),
        /** The PEM file of the certificate itself, sent along (x5c) for subject-name/issuer authentication. */
        certificateFile: z.string().min(1).optional(),
      })
      .optional(),
    /** Where tokens come from; the tenant is appended. */
    authority: z.url().default('https://login.microsoftonline.com'),
    /** Items per delta page (Prefer: odata.maxpagesize). */
    pageSize: z.number().int().min(1).max(1000).default(100),
    /** poll: delta reads every pollIntervalMs; webhook: Graph posts change notifications to notificationUrl. */
    notifications: z.enum(['poll', 'webhook']).default('poll'),
    /** The public HTTPS URL Graph posts notifications to, reaching listeners.graph (a reverse proxy in front). */
    notificationUrl: z.url().optional(),
    /** How often a mailbox's folders are read without a notification (poll), or as a safety net (webhook: × 10). */
    pollIntervalMs: ms.default(30_000),
    /**
     * How long a subscription lasts before it is renewed at two thirds. Microsoft's current limit for Outlook resources
     * is 10,080 minutes; it was 4,230, and a subscription asked for longer than the tenant allows is refused, so the
     * default stays within both (a renewal every two days instead of every five costs one request).
     */
    subscriptionMinutes: z.number().int().min(5).max(10_080).default(4_230),
    /** Autodiscover v2, asked by exchange.backend "auto" where a mailbox is served. */
    autodiscoverUrl: z.url().default('https://autodiscover-s.outlook.com/autodiscover/autodiscover.json'),
  })
  .prefault({});

const exchange = z
  .strictObject({
    /**
     * Which API serves the mailboxes: ews (on-premises Exchange, or Exchange Online until EWS is switched off there),
     * graph (Exchange Online), auto (asked per mailbox with Autodiscover v2). An exh_backend column in
     * exh_get_users' result overrides it per user (docs/exchange-online.md, "Routing").
     */
    backend: z.enum(exchangeBackends).default('ews'),
    graph,
    /** ExchangeConcurrencyLevel: Exchange requests in flight at once, for all mailboxes together. */
    concurrency: z.number().int().min(1).max(256).default(8),
    /** StaticEwsUrl: skip Autodiscover and use this EWS URL for every mailbox. */
    staticEwsUrl: z.url().optional(),
    enableScpLookup: z.boolean().default(false),
    timeoutMs: ms.default(100_000),
    version: z.enum(exchangeVersions).default('Exchange2013_SP1'),
    auth: z.enum(['basic', 'ntlm', 'oauth']).default('basic'),
    /** The EWS service account; not needed when exchange.backend is "graph". */
    impersonationUser: z.string().min(1).optional(),
    impersonationPassword: z.string().min(1).optional(),
    oauthToken: z.string().min(1).optional(),
    ignoreSsl: z.boolean().default(false),
    notifications: z.enum(['streaming', 'push', 'pull']).default('streaming'),
  })
  .superRefine((value, ctx) => {
    const required = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (value.backend !== 'graph') {
      if (!value.impersonationUser)
        required(['impersonationUser'], `required when exchange.backend is "${value.backend}"`);
      if (value.auth === 'oauth' ? !value.oauthToken : !value.impersonationPassword) {
        const key = value.auth === 'oauth' ? 'oauthToken' : 'impersonationPassword';
        required([key], `required when exchange.auth is "${value.auth}"`);
      }
    }
    if (value.backend !== 'ews') {
      const because = `required when exchange.backend is "${value.backend}" (docs/exchange-online.md)`;
      if (!value.graph.tenant) required(['graph', 'tenant'], because);
      if (!value.graph.clientId) required(['graph', 'clientId'], because);
      if (!value.graph.clientSecret && !value.graph.clientCertificate)
        required(['graph', 'clientCertificate'], `a certificate (or clientSecret) is ${because}`);
    }
    if (value.graph.notifications === 'webhook' && !value.graph.notificationUrl) {
      required(['graph', 'notificationUrl'], 'required when exchange.graph.notifications is "webhook"');
    }
  });

/**
 * Several instances sharing one database (docs/scale-out.md, docs/configuration.md "cluster"). Enabled by its presence;
 * absent, a single instance runs every mailbox as before.
 */
const cluster = z
  .strictObject({
    /** This instance's id in exh_member; default: the host name and the process id (`host-1234`). */
    instanceId: z.string().min(1).max(200).optional(),
    /** How long a lease (and a member's heartbeat) lasts without renewal: the longest failover. */
    leaseSeconds: z.number().int().min(3).max(3600).default(20),
    /** How often the heartbeat renews membership and leases; less than half of leaseSeconds. */
    heartbeatSeconds: z.number().int().min(1).max(1800).default(5),
    /** Where the other instances and the database's senders reach this one's database listener; default: as exh_set_up gets it. */
    address: z.string().min(1).optional(),
    port: port.optional(),
  })
  .refine((c) => c.heartbeatSeconds * 2 < c.leaseSeconds, {
    path: ['heartbeatSeconds'],
    message:
      'too long for the lease: cluster.heartbeatSeconds must be less than half of cluster.leaseSeconds, so a lease is renewed at least twice before it ends (lower heartbeatSeconds or raise leaseSeconds)',
  });

export const configSchema = z
  .strictObject({
    database,
    exchange,
    cluster: cluster.optional(),
    listeners: z
      .strictObject({
        log: z.strictObject(listenerShape(8888)).prefault({}),
        database: z
          .strictObject({
            ...listenerShape(9988),
            /** Address written to exh_set_up for the database's senders; default: the listener's host. */
            advertisedAddress: z.string().min(1).optional(),
            /** Token every request must carry; default: a new random one at each start, written to exh_set_up. */
            token: z.string().min(16).optional(),
            /** PEM files: the listener speaks TLS (the senders then connect with TLS and trust the certificate). */
            tls: z.strictObject({ certFile: z.string().min(1), keyFile: z.string().min(1) }).optional(),
            /** A connection must have sent its token within this time of being accepted (docs/protocol.md). */
            authTimeoutMs: ms.default(2_000),
            /** Connections without their token yet; beyond this the oldest get a busy reply (521). */
            maxUnauthenticated: z.number().int().min(1).default(32),
            /** Authenticated requests at once; one more gets a busy reply (521). */
            maxConnections: z.number().int().min(1).default(256),
          })
          .prefault({}),
        exchange: z
          .strictObject({
            // Loopback like every listener: Exchange on another machine needs host and publicUrl set (docs/configuration.md).
            ...listenerShape(8100),
            /** The URL Exchange reaches the receiver at (http://this-host:8100/exh/notifications); `/<secret>` is appended. */
            publicUrl: z.url().optional(),
            /** A request must arrive whole (headers and body) within this time, or it gets 408 and is disconnected. */
            requestTimeoutMs: ms.default(30_000),
          })
          .prefault({}),
        graph: z
          .strictObject({
            // Behind exchange.graph.notificationUrl (HTTPS, a reverse proxy); only used with notifications "webhook".
            ...listenerShape(8101),
            /** A request must arrive whole (headers and body) within this time, or it gets 408 and is disconnected. */
            requestTimeoutMs: ms.default(10_000),
            /** The largest notification batch accepted, in bytes. */
            maxBodyBytes: z
              .number()
              .int()
              .min(1024)
              .default(1024 * 1024),
          })
          .prefault({}),
        http: z
          .strictObject({
            ...listenerShape(8080),
            adminToken: z.string().min(16).optional(),
            /** Host names a request may carry besides IP addresses and localhost (DNS rebinding); '*': any. */
            allowedHosts: z.array(z.string().min(1)).default([]),
            /** A request must arrive whole (headers and body) within this time, or it gets 408 and is disconnected. */
            requestTimeoutMs: ms.default(30_000),
          })
          .prefault({}),
      })
      .prefault({}),
    sync: z
      .strictObject({
        htmlBody: z.boolean().default(true),
        /** MaxBodyLength: 0 keeps bodies whole. */
        maxBodyLength: z.number().int().min(0).default(0),
        /**
         * Microsoft Graph reads calendars only between two dates (calendarView): the appointments from daysBack before
         * today to daysAhead after it are synchronised, the window rolling daily; EWS reads whole calendars.
         */
        calendarWindow: z
          .strictObject({
            daysBack: z.number().int().min(0).max(3650).default(365),
            daysAhead: z.number().int().min(1).max(3650).default(730),
          })
          .prefault({}),
        /** MaxSyncedRecurrences: 0 synchronises only the master of a recurring series. */
        maxSyncedRecurrences: z.number().int().min(0).default(0),
        meetingRequestsResponses: z.boolean().default(false),
        /** How often exh_get_users is read again and applied as a diff (new users started, removed ones stopped); 0: never. */
        usersRefreshMs: z.number().int().min(0).default(300_000),
        /** How often exh_outbox is looked at for changes from the application (database → Exchange). */
        outboxPollMs: ms.default(2_000),
        /** The largest attachment exh_get_attachment (or a sender) may download, in bytes. */
        maxAttachmentBytes: z
          .number()
          .int()
          .min(1)
          .default(10 * 1024 * 1024),
        /** Which change is kept when Exchange and the application changed the same item between two syncs. */
        conflicts: z.enum(conflictRules).default(defaultConflictRule),
      })
      .prefault({}),
    retry: z
      .strictObject({
        /** The longest wait between attempts to reach a lost database: five minutes, the steady state. */
        databaseIntervalMs: ms.default(300_000),
        /** The first wait after a loss; it doubles up to databaseIntervalMs (docs/reliability.md, "Recovery"). */
        databaseFirstMs: ms.default(1_000),
        /** A mailbox's wait after a transient Exchange error: firstMs, doubling, at most maxMs (BackOffMilliseconds wins). */
        exchangeBackoff: z
          .strictObject({ firstMs: ms.default(1_000), maxMs: ms.default(60_000) })
          .prefault({})
          .refine((b) => b.firstMs <= b.maxMs, { message: 'firstMs must not be larger than maxMs', path: ['firstMs'] }),
        /** A crashing mailbox is restarted at most `max` times within `windowMs`, then left stopped and reported. */
        mailboxRestarts: z
          .strictObject({ max: z.number().int().min(0).default(5), windowMs: ms.default(60_000) })
          .prefault({}),
        /** Permanent Exchange errors in a row (unknown mailbox, impersonation denied) before a mailbox is disabled. */
        permanentFailures: z.number().int().min(1).default(3),
      })
      .prefault({}),
    log: z
      .strictObject({
        level: z.enum(['debug', 'info', 'action', 'warn', 'error']).default('info'),
        /** auto: the readable one-line form on a terminal, JSON otherwise. */
        format: z.enum(['auto', 'json', 'pretty']).default('auto'),
        /** Also append every record to this file as JSON lines; reopened on SIGHUP (logrotate). */
        file: z.string().min(1).optional(),
        /** false: records go to log.file only (needs log.file). */
        stdout: z.boolean().default(true),
      })
      .prefault({}),
  })
  .superRefine((value, ctx) => {
    if (value.cluster && !value.listeners.database.token) {
      ctx.addIssue({
        code: 'custom',
        path: ['listeners', 'database', 'token'],
        message:
          'required when cluster is configured: every instance must use the same listener token (set listeners.database.token to one secret shared by all instances, for example from a Kubernetes Secret)',
      });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/** Leaves whose values are never printed. */
export const secretKeys = new Set([
  'impersonationPassword',
  'oauthToken',
  'token',
  'adminToken',
  'connectionString',
  'clientSecret',
]);
