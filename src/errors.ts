/**
 * The one catalogue of coded errors. Adapters translate foreign errors (pg, mssql, ibm_db, EWS, sockets) into these
 * at the boundary, so that machines decide on `code` and `retryable`, never on a driver's message text.
 *
 * Codes are stable strings grouped by subsystem (EXH_CONFIG_*, EXH_DB_*, EXH_CLUSTER_*, EXH_LISTENER_*, EXH_POOL_*, EXH_EXCHANGE_*).
 * Every message names the cause and, where there is one, the fix.
 */

export interface ExhErrorOptions {
  cause?: unknown;
  /** Extra facts for logs and the dashboard (host, port, key, ...). Never secrets. */
  details?: Record<string, unknown>;
}

export class ExhError extends Error {
  override readonly name = 'ExhError';
  readonly details: Record<string, unknown>;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryable: boolean,
    options: ExhErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.details = options.details ?? {};
  }

  /** A JSON-safe form for machine context, logs and the HTTP API. */
  toJSON(): { code: ErrorCode; message: string; retryable: boolean; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, retryable: this.retryable, details: this.details };
  }
}

/**
 * Every code with whether it is worth retrying, the one notion of "retryable" in the connector: `retryable` says that
 * trying the same thing again later can succeed with nothing changed; `permanent` marks the codes after which a mailbox
 * cannot work until somebody changes Exchange, the configuration or the user list (see isPermanent); `databaseLost`
 * marks the codes that mean the database connection is gone (see isDatabaseGone). `as const` keeps the codes a closed
 * set for switch statements.
 */
export const errorCatalogue = {
  EXH_CONFIG_NOT_FOUND: { retryable: false },
  EXH_CONFIG_UNREADABLE: { retryable: false },
  EXH_CONFIG_INVALID: { retryable: false },
  EXH_CONFIG_MIGRATE_NOT_FOUND: { retryable: false },
  EXH_CONFIG_MIGRATE_UNREADABLE: { retryable: false },
  EXH_CONFIG_MIGRATE_UNKNOWN_FORMAT: { retryable: false },
  EXH_CONFIG_MIGRATE_INCOMPLETE: { retryable: false },
  EXH_DB_SET_UP_MISSING: { retryable: true },
  // Why a connection could not be made: each its own code, so that the log names the fix (docs/operations.md).
  // All retryable: the database machine tries again every retry.databaseIntervalMs, so fixing the cause is enough.
  EXH_DB_UNREACHABLE: { retryable: true, databaseLost: true },
  EXH_DB_DATABASE_NOT_FOUND: { retryable: true },
  EXH_DB_LOGIN_FAILED: { retryable: true, databaseLost: true },
  EXH_DB_HOST_UNKNOWN: { retryable: true },
  EXH_DB_CONNECTION_REFUSED: { retryable: true },
  EXH_DB_TLS_REQUIRED: { retryable: true },
  EXH_DB_TLS_FAILED: { retryable: true },
  EXH_DB_CONNECTION_LOST: { retryable: true, databaseLost: true },
  /** Every pooled connection stayed busy: back-pressure, not a loss (the caller tries again). */
  EXH_DB_POOL_EXHAUSTED: { retryable: true },
  EXH_DB_BASE_PROJECT_MISSING: { retryable: true },
  EXH_DB_PROCEDURE_FAILED: { retryable: false },
  /**
   * Several instances: this instance no longer holds the user's lease (it expired, or another instance took it), so the
   * write was refused and nothing changed; the mailbox stops here and runs where the lease is (docs/scale-out.md).
   */
  EXH_CLUSTER_LEASE_LOST: { retryable: false },
  /** Several instances: a sender's request for a user whose lease no instance holds yet (docs/senders.md). */
  EXH_CLUSTER_NO_HOLDER: { retryable: true },
  /** A request forwarded to the lease's holder arrived after the lease moved on: the sender tries again. */
  EXH_CLUSTER_OWNER_MOVED: { retryable: true },
  /** The instance holding the user's lease did not answer the forwarded request. */
  EXH_CLUSTER_HOLDER_UNREACHABLE: { retryable: true },
  EXH_DB_BUSY: { retryable: true },
  EXH_DB_DRIVER_MISSING: { retryable: false },
  EXH_DB_UNSUPPORTED: { retryable: false },
  EXH_LISTENER_FAILED: { retryable: false },
  EXH_LISTENER_TLS_UNREADABLE: { retryable: false },
  EXH_LISTENER_BUSY: { retryable: true },
  EXH_HTTP_BAD_REQUEST: { retryable: false },
  EXH_HTTP_NOT_FOUND: { retryable: false },
  EXH_HTTP_UNAUTHORIZED: { retryable: false },
  EXH_HTTP_FORBIDDEN: { retryable: false },
  EXH_HTTP_HOST_NOT_ALLOWED: { retryable: false },
  EXH_HTTP_ADMIN_DISABLED: { retryable: false },
  EXH_HTTP_TOO_MANY_STREAMS: { retryable: true },
  EXH_CONNECTOR_OFFLINE: { retryable: true },
  EXH_POOL_ABORTED: { retryable: false },
  EXH_EXCHANGE_UNAVAILABLE: { retryable: true },
  EXH_EXCHANGE_AUTH_FAILED: { retryable: false, permanent: true },
  EXH_EXCHANGE_THROTTLED: { retryable: true },
  EXH_EXCHANGE_TIMEOUT: { retryable: true },
  EXH_EXCHANGE_TLS: { retryable: true },
  EXH_EXCHANGE_MAILBOX_NOT_FOUND: { retryable: false, permanent: true },
  EXH_EXCHANGE_IMPERSONATION_DENIED: { retryable: false, permanent: true },
  /** Graph (403): the application lacks a permission or an Exchange RBAC scope for the mailbox. */
  EXH_EXCHANGE_PERMISSION_DENIED: { retryable: false, permanent: true },
  /** Graph (MailboxNotEnabledForRESTAPI): the mailbox is likely on-premises, which only EWS reaches. */
  EXH_EXCHANGE_MAILBOX_NOT_IN_CLOUD: { retryable: false, permanent: true },
  EXH_EXCHANGE_MAILBOX_MOVING: { retryable: true },
  EXH_EXCHANGE_INVALID_SYNC_STATE: { retryable: false },
  EXH_EXCHANGE_SUBSCRIPTION_LOST: { retryable: true },
  EXH_EXCHANGE_ITEM_NOT_FOUND: { retryable: false },
  EXH_EXCHANGE_AUTODISCOVER_FAILED: { retryable: true },
  EXH_EXCHANGE_REQUEST_FAILED: { retryable: false },
  EXH_EXCHANGE_PUSH_UNAVAILABLE: { retryable: false },
  /** Graph could not create a change-notification subscription (most often: its handshake did not reach listeners.graph). */
  EXH_EXCHANGE_WEBHOOK_FAILED: { retryable: true },
  EXH_EXCHANGE_NOT_ORGANIZER: { retryable: false },
  /** The item changed in Exchange since the change key the write named (docs/reliability.md, "Conflicts"). */
  EXH_EXCHANGE_CONFLICT: { retryable: false },
  EXH_EXCHANGE_ATTACHMENT_TOO_LARGE: { retryable: false },
  EXH_MAILBOX_NOT_CONNECTED: { retryable: true },
  EXH_MAILBOX_UNKNOWN: { retryable: false },
  EXH_RESYNC_REFUSED: { retryable: false },
  // Codes of records rather than of errors thrown: rows of exh_log and failures that are not coded.
  /** An exh_sync_item item that could not be written (exh_log, docs/database.md). */
  EXH_RESYNC_FAILED: { retryable: false },
  /** A change both sides made between two syncs, decided by sync.conflicts (exh_log, docs/reliability.md). */
  EXH_SYNC_CONFLICT: { retryable: false },
  /**
   * The application changed an item of a page while the page was on its way into the database: the page was rolled
   * back, and the sync weighs it against that change and applies it again (docs/reliability.md, "Conflicts").
   */
  EXH_SYNC_PAGE_OVERTAKEN: { retryable: true },
  /** A mailbox disabled after permanent errors without one of its own (exh_log). */
  EXH_MAILBOX_DISABLED: { retryable: false },
  /** Anything thrown that is not an ExhError: a bug (machines/report.ts serializes it so). */
  EXH_INTERNAL: { retryable: false },
} as const satisfies Record<string, { retryable: boolean; permanent?: true; databaseLost?: true }>;

export type ErrorCode = keyof typeof errorCatalogue;

function make(code: ErrorCode, message: string, options?: ExhErrorOptions): ExhError {
  return new ExhError(code, message, errorCatalogue[code].retryable, options);
}

export const errors = {
  configNotFound: (file: string) =>
    make(
      'EXH_CONFIG_NOT_FOUND',
      `Configuration file ${file} does not exist: create it (see docs/configuration.md) or pass another with --config FILE.`,
      { details: { file } },
    ),
  configUnreadable: (file: string, problem: string) =>
    make('EXH_CONFIG_UNREADABLE', `Configuration file ${file} cannot be read: ${problem}.`, { details: { file } }),
  configInvalid: (source: string, problems: string[]) =>
    make('EXH_CONFIG_INVALID', `Invalid configuration (${source}):\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      details: { source, problems },
    }),
  migrateNotFound: (file: string) =>
    make(
      'EXH_CONFIG_MIGRATE_NOT_FOUND',
      `${file} does not exist: name the original service's configuration file (ExchangeSyncService.exe.config, ` +
        'in its installation folder).',
      { details: { file } },
    ),
  migrateUnreadable: (problem: string) =>
    make(
      'EXH_CONFIG_MIGRATE_UNREADABLE',
      `The original configuration cannot be read: ${problem}. Fix it and run again.`,
    ),
  migrateUnknownFormat: (problem: string) =>
    make('EXH_CONFIG_MIGRATE_UNKNOWN_FORMAT', `This is not the original service's configuration: ${problem}.`),
  migrateIncomplete: (problems: string[], notes: { setting: string; reason: string }[]) =>
    make(
      'EXH_CONFIG_MIGRATE_INCOMPLETE',
      `The original configuration lacks what exh needs; add it to the file (or to the result by hand):\n${problems
        .map((p) => `  - ${p}`)
        .join('\n')}`,
      { details: { problems, notes } },
    ),
  setUpMissing: (target: string, missing: string[]) =>
    make(
      'EXH_DB_SET_UP_MISSING',
      `exh_set_up in ${target} has no ${missing.join(', ')}: the connector has not started against this database ` +
        'yet. Start it (exh start), or name the listener with --host, --port and --token.',
      { details: { target, missing } },
    ),
  // Connecting (DatabasePort.connect): one builder per cause, each naming the fix. `fix` is the adapter's own wording
  // where the database types differ (which connection-string key turns TLS on). No full stop at the end: the
  // database machine adds "; next attempt in …".
  databaseUnreachable: (target: string, cause: unknown) =>
    make(
      'EXH_DB_UNREACHABLE',
      `Cannot connect to the database at ${target}: ${withoutStop(describe(cause))}. Check that the host is up and reachable ` +
        'from this machine (network, firewall) and that host and port in database.connectionString are right',
      { cause, details: { target } },
    ),
  /** `also`: what else the server's answer can mean on this database type. */
  databaseNotFound: (target: string, cause: unknown, also?: string) =>
    make(
      'EXH_DB_DATABASE_NOT_FOUND',
      `The database server at ${target} has no such database: ${withoutStop(describe(cause))}. Create the database and install ` +
        'the base project into it ("exh db install --config FILE"), or correct the database name in ' +
        `database.connectionString (EXH_DATABASE_CONNECTION_STRING)${also ? `. ${withoutStop(also)}` : ''}`,
      { cause, details: { target } },
    ),
  databaseLoginFailed: (target: string, cause: unknown) =>
    make(
      'EXH_DB_LOGIN_FAILED',
      `The database at ${target} refused the login: ${withoutStop(describe(cause))}. ` +
        'Check the user and password in database.connectionString (EXH_DATABASE_CONNECTION_STRING), and that the ' +
        'user exists, is not locked and may connect to this database',
      { cause, details: { target } },
    ),
  databaseHostUnknown: (target: string, cause: unknown) =>
    make(
      'EXH_DB_HOST_UNKNOWN',
      `The host name of the database at ${target} cannot be resolved: ${withoutStop(describe(cause))}. Check the host in ` +
        "database.connectionString for a typing error, and this machine's DNS",
      { cause, details: { target } },
    ),
  databaseConnectionRefused: (target: string, cause: unknown) =>
    make(
      'EXH_DB_CONNECTION_REFUSED',
      `Nothing accepts connections at ${target}: ${withoutStop(describe(cause))}. Check that the database server is running and ` +
        'listens on that host and port (the port in database.connectionString), and that no firewall rejects it',
      { cause, details: { target } },
    ),
  databaseTlsRequired: (target: string, fix: string, cause: unknown) =>
    make(
      'EXH_DB_TLS_REQUIRED',
      `The database at ${target} accepts no unencrypted connection from this host: ${withoutStop(describe(cause))}. ${withoutStop(fix)}`,
      { cause, details: { target } },
    ),
  databaseTlsFailed: (target: string, fix: string, cause: unknown) =>
    make(
      'EXH_DB_TLS_FAILED',
      `No TLS connection could be set up with the database at ${target}: ${withoutStop(describe(cause))}. ${withoutStop(fix)}`,
      { cause, details: { target } },
    ),
  databasePoolExhausted: (target: string, poolSize: number, waitedMs: number, cause: unknown) =>
    make(
      'EXH_DB_POOL_EXHAUSTED',
      `All ${poolSize} connections to the database at ${target} stayed busy for ${waitedMs} ms, so this call did not ` +
        'get one; it is tried again later. The database is not lost. If this happens often, raise database.poolSize ' +
        '(the server must allow that many more connections).',
      { cause, details: { target, poolSize, waitedMs } },
    ),
  databaseConnectionLost: (target: string, cause: unknown) =>
    make('EXH_DB_CONNECTION_LOST', `Lost the connection to the database at ${target}: ${describe(cause)}`, {
      cause,
      details: { target },
    }),
  baseProjectMissing: (what: string, cause?: unknown) =>
    make(
      'EXH_DB_BASE_PROJECT_MISSING',
      `The exh base project is not installed in this database (${what} is missing): run "exh db install --config FILE".`,
      { cause, details: { missing: what } },
    ),
  /** Thrown by an adapter for one page; by the sync, with `attempts`, when every try of the page met one. */
  pageOvertaken: (user: string, itemType: string, attempts?: number) =>
    make(
      'EXH_SYNC_PAGE_OVERTAKEN',
      `The application changed one of ${user}'s ${itemType} items while a page of changes from Exchange was being ` +
        'written into the database, so the page was rolled back and nothing of it was written' +
        (attempts === undefined
          ? '; the sync weighs the page against that change and writes it again.'
          : ` (${attempts} times in a row). The sync tries again after its back-off; if this repeats, something in ` +
            'the application rewrites these items continuously (its outbox rows show which).'),
      { details: { user, itemType, ...(attempts === undefined ? {} : { attempts }) } },
    ),
  leaseLost: (user: string, instanceId: string, what: string) =>
    make(
      'EXH_CLUSTER_LEASE_LOST',
      `Instance ${instanceId} no longer holds the lease of ${user}'s mailbox (it expired or another instance took it), ` +
        `so ${what} was refused and nothing was written. The mailbox runs on the instance that holds the lease now; if ` +
        'this repeats, the instance cannot renew its leases in time: check its database latency and cluster.leaseSeconds.',
      { details: { user, instanceId, what } },
    ),
  clusterNoHolder: (user: string, instanceId: string) =>
    make(
      'EXH_CLUSTER_NO_HOLDER',
      `No instance holds the lease of ${user}'s mailbox yet (the user was just registered, or the instance that ran ` +
        'the mailbox stopped and no other has taken it over), so the request could not be handed on: retry in a few ' +
        'seconds. The instances take a user within cluster.heartbeatSeconds of reading it from exh_get_users (call ' +
        'exh_sync_users after registering one); after a crash, within cluster.leaseSeconds.',
      { details: { user, instanceId } },
    ),
  clusterOwnerMoved: (user: string, instanceId: string, forwardedBy: string) =>
    make(
      'EXH_CLUSTER_OWNER_MOVED',
      `Instance ${forwardedBy} handed on a request for ${user} to instance ${instanceId}, which no longer holds the ` +
        `lease of ${user}'s mailbox (it moved to another instance meanwhile); a forwarded request is not forwarded ` +
        'again. Retry: the next request reaches the instance that holds the lease now.',
      { details: { user, instanceId, forwardedBy } },
    ),
  clusterHolderUnreachable: (user: string, holder: string, where: string, problem: string) =>
    make(
      'EXH_CLUSTER_HOLDER_UNREACHABLE',
      `Instance ${holder}, which holds the lease of ${user}'s mailbox, did not answer the request handed on to it at ` +
        `${where} (${problem}). If it stopped, its lease ends within cluster.leaseSeconds and another instance takes ` +
        'the mailbox: retry then. If it runs, check that the instances reach each other at their cluster.address and ' +
        'cluster.port (the listener address each registers in exh_member).',
      { details: { user, holder, where } },
    ),
  databaseBusy: (object: string, cause: unknown) =>
    make(
      'EXH_DB_BUSY',
      `${object} could not run now (deadlock, lock or serialization conflict): ${describe(cause)}. The page is tried again.`,
      { cause, details: { object } },
    ),
  procedureFailed: (procedure: string, cause: unknown) =>
    make('EXH_DB_PROCEDURE_FAILED', `${procedure} failed: ${describe(cause)}`, {
      cause,
      details: { procedure },
    }),
  driverMissing: (pkg: string, databaseType: string, cause: unknown) =>
    make(
      'EXH_DB_DRIVER_MISSING',
      `database.type "${databaseType}" needs the npm package "${pkg}", which is not installed or cannot load: ` +
        (pkg === 'ibm_db'
          ? "its install script fetches IBM's CLI driver and is not run by default; run " +
            '"npm install-scripts approve ibm_db && npm rebuild ibm_db" in the connector\'s folder ' +
            '(docs/operations.md, "DB2 driver").'
          : `run "npm ci" in the connector's folder.`) +
        ` Cause: ${describe(cause)}`,
      { cause, details: { package: pkg } },
    ),
  unsupported: (what: string) => make('EXH_DB_UNSUPPORTED', what),
  listenerFailed: (name: string, host: string, port: number, cause: unknown) =>
    make(
      'EXH_LISTENER_FAILED',
      `The ${name} listener cannot listen on ${host}:${port}: ${describe(cause)}. ` +
        `Free the port or choose another with listeners.${name}.port.`,
      { cause, details: { listener: name, host, port } },
    ),
  listenerTlsUnreadable: (key: string, file: string, cause: unknown) =>
    make(
      'EXH_LISTENER_TLS_UNREADABLE',
      `${key} ${file} cannot be read: ${describe(cause)}. Point ${key} at a readable PEM file ` +
        'or remove listeners.database.tls to listen without TLS.',
      { cause, details: { key, file } },
    ),
  /** The database listener has no room for this connection now (docs/protocol.md, "Limits and time-outs"). */
  listenerBusy: (reason: string) =>
    make('EXH_LISTENER_BUSY', `The Exchange Connector is busy: ${reason}.`, { details: { reason } }),
  // The HTTP API (src/http): what a client sent or may do.
  httpBadRequest: (problem: string) =>
    make('EXH_HTTP_BAD_REQUEST', `Bad request: ${problem}. See docs/dashboard.md for what each endpoint takes.`),
  httpNotFound: (what: string) => make('EXH_HTTP_NOT_FOUND', `Not found: ${what}.`),
  httpUnauthorized: () =>
    make(
      'EXH_HTTP_UNAUTHORIZED',
      'This action needs the admin token: send the header "Authorization: Bearer <token>" with the value of ' +
        'listeners.http.adminToken (in the dashboard: enter it in the token field).',
    ),
  httpForbidden: () =>
    make(
      'EXH_HTTP_FORBIDDEN',
      'The admin token is wrong: it must be the value of listeners.http.adminToken (EXH_LISTENERS_HTTP_ADMIN_TOKEN).',
    ),
  httpHostNotAllowed: (host: string) =>
    make(
      'EXH_HTTP_HOST_NOT_ALLOWED',
      `This request's Host (${JSON.stringify(host.slice(0, 100))}) is not a name of this connector: reach it by IP address ` +
        'or localhost, or add the name to listeners.http.allowedHosts (EXH_LISTENERS_HTTP_ALLOWED_HOSTS). ' +
        'Other names are refused against DNS rebinding.',
    ),
  httpAdminDisabled: () =>
    make(
      'EXH_HTTP_ADMIN_DISABLED',
      'Admin actions are disabled because no admin token is configured: set listeners.http.adminToken ' +
        '(EXH_LISTENERS_HTTP_ADMIN_TOKEN, at least 16 characters) and restart the connector.',
    ),
  httpTooManyStreams: (limit: number) =>
    make(
      'EXH_HTTP_TOO_MANY_STREAMS',
      `${limit} event streams (/api/events, /api/inspect) are already open, the most the connector serves: close ` +
        'dashboard tabs or other clients you no longer need, then try again.',
      { details: { limit } },
    ),
  /** The connector runs but cannot serve a request now (no database connection, stopping, user not running). */
  connectorOffline: (reason: string) =>
    make(
      'EXH_CONNECTOR_OFFLINE',
      `The Exchange Connector is offline: ${reason}. Check that the service is running and can connect to the database.`,
      { details: { reason } },
    ),
  poolAborted: () => make('EXH_POOL_ABORTED', 'The Exchange request was cancelled because its actor stopped.'),

  // Exchange (src/exchange/ews/errors.ts translates EWS response codes, HTTP statuses and socket errors into these).
  /** `backOffMs`: how long the server asked to wait (Graph's Retry-After on 503/504). */
  exchangeUnavailable: (url: string, problem: string, cause?: unknown, backOffMs?: number) =>
    make(
      'EXH_EXCHANGE_UNAVAILABLE',
      `Exchange at ${url} is not available: ${problem}. Check that the server is online and reachable from this host.`,
      { cause, details: backOffMs === undefined ? { url } : { url, backOffMs } },
    ),
  /**
   * `graph`: Microsoft Graph or its token endpoint refused the application (src/exchange/graph/token.ts, errors.ts),
   * saying which of wrong credentials, missing consent or a refused token, with Entra's AADSTS code when there is one.
   */
  exchangeAuthFailed: (url: string, account: string, graph?: { problem: string; fix: string; aadsts?: string }) =>
    graph
      ? make(
          'EXH_EXCHANGE_AUTH_FAILED',
          `Microsoft Graph (${url}) refused application ${account}: ${withoutStop(graph.problem)}. ${graph.fix}`,
          { details: graph.aadsts ? { url, account, aadsts: graph.aadsts } : { url, account } },
        )
      : make(
          'EXH_EXCHANGE_AUTH_FAILED',
          `Exchange at ${url} refused the credentials of ${account} (HTTP 401). Check exchange.impersonationUser and ` +
            'exchange.impersonationPassword (or exchange.oauthToken); retrying with a wrong password can lock the account.',
          { details: { url, account } },
        ),
  /** `reason`: what said so (EWS: ErrorServerBusy; Graph: HTTP 429 with or without Retry-After). */
  exchangeThrottled: (url: string, backOffMs: number | undefined, reason = 'ErrorServerBusy') =>
    make(
      'EXH_EXCHANGE_THROTTLED',
      `Exchange at ${url} is busy (${reason}) and asks to wait` +
        `${backOffMs === undefined ? '' : ` ${backOffMs} ms`} before the next request; exh backs off by itself.`,
      { details: backOffMs === undefined ? { url } : { url, backOffMs } },
    ),
  /** `timeoutMs` undefined: Exchange itself gave up (ErrorTimeoutExpired). */
  exchangeTimeout: (url: string, timeoutMs: number | undefined, what = 'an answer') =>
    make(
      'EXH_EXCHANGE_TIMEOUT',
      timeoutMs === undefined
        ? `The operation has timed out: Exchange at ${url} gave up on ${what}. Check the Exchange server's load.`
        : `The operation has timed out: Exchange at ${url} gave no ${what} within ${timeoutMs} ms ` +
            '(exchange.timeoutMs). Check the Exchange server and the network.',
      { details: timeoutMs === undefined ? { url } : { url, timeoutMs } },
    ),
  exchangeTls: (url: string, cause: unknown) =>
    make(
      'EXH_EXCHANGE_TLS',
      `Could not establish trust relationship for the SSL/TLS secure channel with ${url}: ${describe(cause)}. ` +
        "Install a valid certificate on Exchange (or its CA in Node's trust store via NODE_EXTRA_CA_CERTS); " +
        'exchange.ignoreSsl switches the check off temporarily.',
      { cause, details: { url } },
    ),
  mailboxNotFound: (user: string, detail: string) =>
    make(
      'EXH_EXCHANGE_MAILBOX_NOT_FOUND',
      `Unknown user: Exchange has no mailbox for ${user} (${detail}). Check the address in exh_get_users; ` +
        'aliases do not work, only primary SMTP addresses.',
      { details: { user } },
    ),
  impersonationDenied: (user: string, account: string, code: string) =>
    make(
      'EXH_EXCHANGE_IMPERSONATION_DENIED',
      `Access is denied: ${account} may not act as ${user} (${code}). Grant the ApplicationImpersonation role ` +
        'to the account in exchange.impersonationUser.',
      { details: { user, account, responseCode: code } },
    ),
  /**
   * Graph (403): `permission` is the application permission the request needs; `rbac` how Exchange RBAC for
   * Applications may be what limits it (docs/exchange-online.md), when it can.
   */
  permissionDenied: (user: string, url: string, permission: string, graphMessage: string, rbac?: string) =>
    make(
      'EXH_EXCHANGE_PERMISSION_DENIED',
      `Microsoft Graph denied access to the mailbox of ${user} (${graphMessage}): the application needs the ` +
        `application permission ${permission} with admin consent${rbac ? `, or ${rbac}` : ''} ` +
        '(docs/exchange-online.md). The mailbox is disabled until the permission is granted and users are registered again.',
      { details: { user, url, permission } },
    ),
  /** Graph (MailboxNotEnabledForRESTAPI): Exchange Online does not host this mailbox. */
  mailboxNotInCloud: (user: string, graphMessage: string) =>
    make(
      'EXH_EXCHANGE_MAILBOX_NOT_IN_CLOUD',
      `Microsoft Graph cannot reach the mailbox of ${user} (MailboxNotEnabledForRESTAPI: ${withoutStop(graphMessage)}): ` +
        "the mailbox is likely on-premises: route it to EWS (exh_backend 'ews' or exchange.backend 'auto'; " +
        'docs/exchange-online.md, "Routing").',
      { details: { user } },
    ),
  mailboxMoving: (user: string) =>
    make(
      'EXH_EXCHANGE_MAILBOX_MOVING',
      `Mailbox move in progress for ${user}: Exchange serves it again once the move is completed; exh tries again later.`,
      { details: { user } },
    ),
  /** `reason`: what said so (Graph: HTTP 410 or syncStateNotFound); `location`: Graph's fresh initial link (410). */
  invalidSyncState: (user: string, folder: string, reason = 'ErrorInvalidSyncStateData', location?: string) =>
    make(
      'EXH_EXCHANGE_INVALID_SYNC_STATE',
      `Exchange no longer accepts the stored sync state of ${folder} for ${user} (${reason}): ` +
        'the folder is synchronised again from the beginning.',
      { details: location === undefined ? { user, folder } : { user, folder, location } },
    ),
  subscriptionLost: (user: string, reason: string, cause?: unknown) =>
    make('EXH_EXCHANGE_SUBSCRIPTION_LOST', `The Exchange subscription of ${user} ended: ${reason}.`, {
      cause,
      details: { user },
    }),
  itemNotFound: (user: string, itemId: string) =>
    make(
      'EXH_EXCHANGE_ITEM_NOT_FOUND',
      `The specified object was not found in the store: item ${itemId} of ${user} was removed meanwhile.`,
      { details: { user, itemId } },
    ),
  autodiscoverFailed: (user: string, attempts: { url: string; problem: string }[]) =>
    make(
      'EXH_EXCHANGE_AUTODISCOVER_FAILED',
      `Autodiscover for ${user} failed: ${attempts.map((a) => `${a.url}: ${a.problem}`).join('; ')}. ` +
        'Check the Autodiscover DNS records and the network, or set exchange.staticEwsUrl.',
      { details: { user, attempts } },
    ),
  pushUnavailable: () =>
    make(
      'EXH_EXCHANGE_PUSH_UNAVAILABLE',
      'exchange.notifications is "push", but the listener Exchange posts to is not running: enable ' +
        'listeners.exchange (and set its publicUrl to an address Exchange can reach), or use "streaming".',
    ),
  webhookFailed: (user: string, notificationUrl: string, listener: string, cause: unknown) =>
    make(
      'EXH_EXCHANGE_WEBHOOK_FAILED',
      `Graph did not create the change-notification subscriptions of ${user}: ${withoutStop(describe(cause))}. Graph first posts a ` +
        `validation request to exchange.graph.notificationUrl (${notificationUrl}), which must reach listeners.graph ` +
        `(${listener}) over HTTPS through the reverse proxy and be answered within 10 s; check both, or set ` +
        'exchange.graph.notifications to "poll". The mailbox backs off and subscribes again.',
      { cause, details: { user, notificationUrl, listener } },
    ),
  exchangeRequestFailed: (url: string, responseCode: string, message: string) =>
    make('EXH_EXCHANGE_REQUEST_FAILED', `Exchange at ${url} refused the request: ${responseCode}: ${message}`, {
      details: { url, responseCode },
    }),
  notOrganizer: (user: string, organizer: string, itemId: string) =>
    make(
      'EXH_EXCHANGE_NOT_ORGANIZER',
      `${user} may not change appointment ${itemId}: its organizer is ${organizer}, and only the organizer may ` +
        'change an appointment. Change it in the mailbox of the organizer.',
      { details: { user, organizer, itemId } },
    ),
  /** `reason`: what said so (EWS: ErrorIrresolvableConflict; Graph: HTTP 412 on If-Match). */
  exchangeConflict: (user: string, itemId: string, reason = 'ErrorIrresolvableConflict') =>
    make(
      'EXH_EXCHANGE_CONFLICT',
      `Item ${itemId} of ${user} changed in Exchange since the version the write was based on ` +
        `(${reason}): sync.conflicts decides which change is kept (docs/reliability.md, "Conflicts").`,
      { details: { user, itemId } },
    ),
  attachmentTooLarge: (user: string, attachmentId: string, size: number, maxBytes: number) =>
    make(
      'EXH_EXCHANGE_ATTACHMENT_TOO_LARGE',
      `Attachment ${attachmentId} of ${user} has ${size} bytes, more than the limit of ${maxBytes}: ` +
        'raise the limit or fetch the attachment in Exchange itself.',
      { details: { user, attachmentId, size, maxBytes } },
    ),
  mailboxNotConnected: (user: string) =>
    make(
      'EXH_MAILBOX_NOT_CONNECTED',
      `The mailbox of ${user} is not connected to Exchange (yet): it is starting, backing off or disabled; ` +
        'try again later, and see the log (or exh_log) for why it is not live.',
      { details: { user } },
    ),
  resyncRefused: (reason: string) => make('EXH_RESYNC_REFUSED', `exh_sync_item refused: ${reason}`),
  mailboxUnknown: (user: string) =>
    make(
      'EXH_MAILBOX_UNKNOWN',
      `${user} is not a registered user: exh_get_users does not return it. Add the user to the application's ` +
        'exh_user_source and call exh_sync_users.',
      { details: { user } },
    ),
} as const;

/** A sentence without its full stop, for messages that others continue ("; next attempt in …"). */
function withoutStop(text: string): string {
  return text.replace(/\.$/, '');
}

/** The message of anything thrown, without a stack, for one-line log records. */
export function describe(cause: unknown): string {
  if (cause instanceof AggregateError && cause.errors.length > 0) {
    return [...new Set(cause.errors.map(describe))].join('; ');
  }
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    const text = cause.message || cause.name;
    return code && !text.includes(code) ? `${text} (${code})` : text;
  }
  return String(cause);
}

/**
 * Whether an error (an ExhError, or its serialized form in machine context) leaves a mailbox unable to work until
 * somebody changes Exchange, the configuration or the user list: a `permanent` code, never retryable. A mailbox that
 * meets one `retry.permanentFailures` times in a row is disabled (machines/mailbox.machine.ts). Every other failure,
 * retryable or not (a refused request, a bug in parsing one item), backs the mailbox off and tries again, so that one
 * bad item can never disable a mailbox, let alone all of them.
 */
export function isPermanent(error: { code: string; retryable: boolean }): boolean {
  if (error.retryable || !Object.hasOwn(errorCatalogue, error.code)) return false;
  const entry = errorCatalogue[error.code as ErrorCode] as { retryable: boolean; permanent?: true };
  return entry.permanent === true;
}

/**
 * Whether an error (an ExhError, or its serialized form) means that the database is gone: the connection a call used
 * went away (EXH_DB_CONNECTION_LOST), or a fresh one cannot be had (EXH_DB_UNREACHABLE; EXH_DB_LOGIN_FAILED, a password
 * changed under a running connector). That is the database machine's business (STYLE 8: everything below it stops and
 * starts again), not the failure of the row or sync that met it. The other causes of a failed connection
 * (EXH_DB_HOST_UNKNOWN, EXH_DB_TLS_*, ...) come from connect() alone, which the database machine runs itself;
 * EXH_DB_POOL_EXHAUSTED is back-pressure, not a loss.
 */
export function isDatabaseGone(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !Object.hasOwn(errorCatalogue, code)) return false;
  return (errorCatalogue[code as ErrorCode] as { databaseLost?: true }).databaseLost === true;
}

export function isExhError(value: unknown, code?: ErrorCode): value is ExhError {
  return value instanceof ExhError && (code === undefined || value.code === code);
}
