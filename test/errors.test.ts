import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { serializeError } from '../machines/report.js';
import { type ErrorCode, ExhError, errorCatalogue, errors, isDatabaseGone, isPermanent } from '../src/errors.js';

/** The catalogue of coded errors (src/errors.ts) and its documentation. */
describe('the error catalogue', () => {
  const operations = readFileSync(new URL('../docs/operations.md', import.meta.url), 'utf8');
  const databaseCodes = Object.keys(errorCatalogue).filter((code) => code.startsWith('EXH_DB_')) as ErrorCode[];

  it('lists every database code in the error table of docs/operations.md, with what it means and what to do', () => {
    for (const code of databaseCodes) {
      const row = operations.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
      expect(row, `${code} has no row in docs/operations.md`).toBeDefined();
      const [meaning, fix] = (row ?? '').split('|').slice(2, 4);
      expect(meaning?.trim().length, `${code}: what it means`).toBeGreaterThan(10);
      expect(fix?.trim().length, `${code}: what to do`).toBeGreaterThan(5);
    }
  });

  it('retries every cause of a failed connection: each can be fixed while the connector waits', () => {
    const connectCodes: ErrorCode[] = [
      'EXH_DB_UNREACHABLE',
      'EXH_DB_DATABASE_NOT_FOUND',
      'EXH_DB_LOGIN_FAILED',
      'EXH_DB_HOST_UNKNOWN',
      'EXH_DB_CONNECTION_REFUSED',
      'EXH_DB_TLS_REQUIRED',
      'EXH_DB_TLS_FAILED',
    ];
    for (const code of [...connectCodes, 'EXH_DB_POOL_EXHAUSTED' as const]) {
      expect(errorCatalogue[code].retryable, code).toBe(true);
    }
  });

  it('names the cause and the fix in each message of a failed connection, never the generic "host, port, firewall"', () => {
    const cause = Object.assign(new Error('database "app" does not exist'), { code: '3D000' });
    const target = 'postgres://exh@db:5432/app';
    const cases: Array<[ReturnType<typeof errors.databaseUnreachable>, RegExp]> = [
      [errors.databaseNotFound(target, cause), /does not exist \(3D000\)\. Create the database .*exh db install/],
      [errors.databaseLoginFailed(target, cause), /refused the login: .*Check the user and password/],
      [errors.databaseHostUnknown(target, cause), /cannot be resolved: .*Check the host/],
      [errors.databaseConnectionRefused(target, cause), /Nothing accepts connections at .*server is running/],
      [errors.databaseTlsRequired(target, 'Add sslmode=require.', cause), /no unencrypted connection.*sslmode=require/],
      [errors.databaseTlsFailed(target, 'Name the CA.', cause), /No TLS connection.*Name the CA/],
      [
        errors.databasePoolExhausted(target, 4, 10_000, cause),
        /All 4 connections .*10000 ms.*not lost.*database\.poolSize/,
      ],
    ];
    for (const [error, expected] of cases) {
      expect(error.message).toMatch(expected);
      expect(error.message).toContain(target);
      if (error.code !== 'EXH_DB_UNREACHABLE') expect(error.message).not.toMatch(/firewall\)/);
    }
  });
});

type Builders = typeof errors;
/**
 * How each builder is called here, and what its message tells the reader to do: `fix` is the fix or what the
 * connector does by itself; `caller` means the caller's text (the argument matching it) carries the cause and the fix.
 * Typed over every builder, so that a new one cannot be left out.
 */
type Sample<K extends keyof Builders> = { args: Parameters<Builders[K]> } & ({ fix: RegExp } | { caller: RegExp });
const cause = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' });
const db = 'postgres://exh@db:5432/app';
const ews = 'https://mail.contoso.test/EWS/Exchange.asmx';
const samples: { [K in keyof Builders]: Sample<K> } = {
  configNotFound: { args: ['exh.yaml'], fix: /create it .* or pass another with --config FILE/ },
  configUnreadable: { args: ['exh.yaml', 'line 3, column 5: unexpected "}"'], caller: /line 3, column 5/ },
  configInvalid: { args: ['exh.yaml', ['database.type: expected postgres']], caller: /database\.type: expected/ },
  migrateNotFound: { args: ['old.config'], fix: /name the original service's configuration file/ },
  migrateUnreadable: { args: ['line 2: unclosed tag'], fix: /Fix it and run again/ },
  migrateUnknownFormat: { args: ['no <appSettings>'], caller: /no <appSettings>/ },
  migrateIncomplete: { args: [['ImpersonationUser is missing'], []], fix: /add it to the file/ },
  setUpMissing: { args: [db, ['port']], fix: /Start it \(exh start\), or name the listener with --host/ },
  databaseUnreachable: { args: [db, cause], fix: /Check that the host is up and reachable/ },
  databaseNotFound: { args: [db, cause], fix: /Create the database and install the base project/ },
  databaseLoginFailed: { args: [db, cause], fix: /Check the user and password in database\.connectionString/ },
  databaseHostUnknown: { args: [db, cause], fix: /Check the host in database\.connectionString/ },
  databaseConnectionRefused: { args: [db, cause], fix: /Check that the database server is running/ },
  databaseTlsRequired: { args: [db, 'Add sslmode=require.', cause], caller: /Add sslmode=require/ },
  databaseTlsFailed: { args: [db, 'Name the CA with sslrootcert.', cause], caller: /Name the CA/ },
  databasePoolExhausted: { args: [db, 4, 10_000, cause], fix: /tried again later.*raise database\.poolSize/ },
  // The database machine continues it with "; mailboxes stopped, next attempt in …".
  databaseConnectionLost: { args: [db, cause], caller: /ECONNREFUSED/ },
  baseProjectMissing: { args: ['exh_set_up'], fix: /run "exh db install --config FILE"/ },
  databaseBusy: { args: ['exh_from_exh_task', cause], fix: /The page is tried again/ },
  pageOvertaken: {
    args: ['alice@example.com', 'task', 10],
    fix: /tries again after its back-off.*outbox rows show which/,
  },
  leaseLost: {
    args: ['alice@example.com', 'exh-a', 'the watermark of calendar'],
    fix: /runs on the instance that holds the lease.*cluster\.leaseSeconds/,
  },
  clusterNoHolder: { args: ['alice@example.com', 'exh-b'], fix: /retry in a few seconds.*exh_sync_users/ },
  clusterOwnerMoved: { args: ['alice@example.com', 'exh-b', 'exh-a'], fix: /Retry: the next request reaches/ },
  clusterHolderUnreachable: {
    args: ['alice@example.com', 'exh-a', '10.0.0.7:9988', 'connection refused'],
    fix: /retry then.*cluster\.address and cluster\.port/,
  },
  procedureFailed: { args: ['exh_from_exh_task', new Error('value too long for column')], caller: /value too long/ },
  driverMissing: { args: ['mssql', 'sqlserver', cause], fix: /run "npm ci" in the connector's folder/ },
  unsupported: { args: ['DB2 cannot LISTEN: use the polling outbox'], caller: /use the polling outbox/ },
  listenerFailed: {
    args: ['database', '127.0.0.1', 9400, cause],
    fix: /Free the port or choose another with listeners\.database\.port/,
  },
  listenerTlsUnreadable: {
    args: ['listeners.database.tls.certFile', '/etc/exh/cert.pem', cause],
    fix: /Point listeners\.database\.tls\.certFile at a readable PEM file/,
  },
  listenerBusy: { args: ['32 connections have not sent their token'], caller: /32 connections/ },
  httpBadRequest: { args: ['user: expected a string'], fix: /See docs\/dashboard\.md/ },
  httpNotFound: { args: ['/api/mailboxes/nobody'], caller: /\/api\/mailboxes\/nobody/ },
  httpUnauthorized: { args: [], fix: /send the header "Authorization: Bearer <token>"/ },
  httpForbidden: { args: [], fix: /must be the value of listeners\.http\.adminToken/ },
  httpHostNotAllowed: { args: ['evil.example'], fix: /add the name to listeners\.http\.allowedHosts/ },
  httpAdminDisabled: { args: [], fix: /set listeners\.http\.adminToken/ },
  httpTooManyStreams: { args: [20], fix: /close dashboard tabs/ },
  connectorOffline: { args: ['stopping'], fix: /Check that the service is running/ },
  poolAborted: { args: [], fix: /cancelled because its actor stopped/ },
  exchangeUnavailable: { args: [ews, 'HTTP 503'], fix: /Check that the server is online/ },
  exchangeAuthFailed: { args: [ews, 'svc@contoso.test'], fix: /Check exchange\.impersonationUser/ },
  exchangeThrottled: { args: [ews, 30_000], fix: /exh backs off by itself/ },
  exchangeTimeout: { args: [ews, 100_000], fix: /Check the Exchange server and the network/ },
  exchangeTls: { args: [ews, cause], fix: /Install a valid certificate/ },
  mailboxNotFound: { args: ['ann@contoso.test', 'ErrorNonExistentMailbox'], fix: /Check the address in exh_get_users/ },
  impersonationDenied: {
    args: ['ann@contoso.test', 'svc@contoso.test', 'ErrorImpersonateUserDenied'],
    fix: /Grant the ApplicationImpersonation role/,
  },
  permissionDenied: {
    args: ['ann@contoso.test', '/users/ann@contoso.test/events', 'Calendars.ReadWrite', 'ErrorAccessDenied'],
    fix: /needs the application permission Calendars\.ReadWrite with admin consent/,
  },
  mailboxNotInCloud: { args: ['ann@contoso.test', 'REST API is not yet supported'], fix: /route it to EWS/ },
  mailboxMoving: { args: ['ann@contoso.test'], fix: /exh tries again later/ },
  invalidSyncState: { args: ['ann@contoso.test', 'calendar'], fix: /synchronised again from the beginning/ },
  subscriptionLost: { args: ['ann@contoso.test', 'it expired'], caller: /it expired/ },
  itemNotFound: { args: ['ann@contoso.test', 'AAMk1'], fix: /was removed meanwhile/ },
  autodiscoverFailed: {
    args: ['ann@contoso.test', [{ url: 'https://autodiscover.contoso.test', problem: 'ENOTFOUND' }]],
    fix: /or set exchange\.staticEwsUrl/,
  },
  pushUnavailable: { args: [], fix: /enable listeners\.exchange/ },
  webhookFailed: {
    args: ['ann@contoso.test', 'https://exh.contoso.test/graph', '127.0.0.1:8101', cause],
    fix: /must reach listeners\.graph .*notifications to "poll"/,
  },
  exchangeRequestFailed: {
    args: [ews, 'ErrorInvalidPropertySet', 'The property set is invalid'],
    caller: /ErrorInvalidPropertySet/,
  },
  notOrganizer: {
    args: ['ann@contoso.test', 'bob@contoso.test', 'AAMk1'],
    fix: /Change it in the mailbox of the organizer/,
  },
  exchangeConflict: { args: ['ann@contoso.test', 'AAMk1'], fix: /sync\.conflicts decides which change is kept/ },
  attachmentTooLarge: {
    args: ['ann@contoso.test', 'AAMkA1', 20, 10],
    fix: /raise the limit or fetch the attachment in Exchange/,
  },
  mailboxNotConnected: { args: ['ann@contoso.test'], fix: /try again later, and see the log/ },
  resyncRefused: { args: ['exh_get_item_task returned no rows: fill in the template'], caller: /fill in the template/ },
  mailboxUnknown: {
    args: ['ann@contoso.test'],
    fix: /Add the user to the application's exh_user_source and call exh_sync_users/,
  },
};

/** Every builder, called with its sample. */
function built(): Array<[string, ExhError, Sample<keyof Builders>]> {
  return Object.entries(samples).map(([name, sample]) => {
    const build = errors[name as keyof Builders] as (...args: unknown[]) => ExhError;
    return [name, build(...sample.args), sample as Sample<keyof Builders>];
  });
}

/** Codes of records (exh_log rows) and of failures without a code, which no builder throws. */
const recordCodes: ErrorCode[] = ['EXH_RESYNC_FAILED', 'EXH_SYNC_CONFLICT', 'EXH_MAILBOX_DISABLED', 'EXH_INTERNAL'];

describe('the error catalogue: one code per cause', () => {
  it("gives each builder a code of its own from the catalogue, with the catalogue's retryable", () => {
    const codes = new Map<ErrorCode, string>();
    for (const [name, error] of built()) {
      expect(error, name).toBeInstanceOf(ExhError);
      expect(Object.hasOwn(errorCatalogue, error.code), `${name}: ${error.code}`).toBe(true);
      expect(error.retryable, name).toBe(errorCatalogue[error.code].retryable);
      expect(codes.get(error.code), `${error.code} is built by ${codes.get(error.code)} and ${name}`).toBeUndefined();
      codes.set(error.code, name);
    }
    // Every other code is a record's, named as such.
    const unbuilt = Object.keys(errorCatalogue).filter((code) => !codes.has(code as ErrorCode));
    expect(unbuilt.sort()).toEqual([...recordCodes].sort());
  });

  it('names codes by subsystem, EXH_ and upper case, none differing only in case', () => {
    const codes = Object.keys(errorCatalogue);
    for (const code of codes) {
      expect(code).toMatch(
        /^EXH_(CONFIG|DB|CLUSTER|LISTENER|HTTP|CONNECTOR|POOL|EXCHANGE|MAILBOX|RESYNC|SYNC|INTERNAL)(_[A-Z0-9]+)*$/,
      );
    }
    expect(new Set(codes.map((code) => code.toLowerCase())).size).toBe(codes.length);
  });

  it('holds every code the modules name: none is made up outside the catalogue', () => {
    const named = new Map<string, string>();
    const codeLiteral = /(?:\bcode\b|Code\b|isExhError\([^)]*?)[^'\n]{0,12}'(EXH_[A-Z0-9_]*[A-Z0-9])'/g;
    const walk = (dir: string) => {
      for (const entry of readdirSync(new URL(`../${dir}`, import.meta.url), { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts')) {
          const text = readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
          for (const match of text.matchAll(codeLiteral)) named.set(match[1] as string, path);
        }
      }
    };
    for (const dir of ['src', 'machines', 'actors']) walk(dir);
    // The scan finds what it should: the mailbox's fallback code, the HTTP listener's, the conflict record's.
    expect([...named.keys()]).toEqual(
      expect.arrayContaining(['EXH_MAILBOX_DISABLED', 'EXH_INTERNAL', 'EXH_SYNC_CONFLICT']),
    );
    for (const [code, path] of named) expect(Object.hasOwn(errorCatalogue, code), `${code} in ${path}`).toBe(true);
  });
});

describe('the error catalogue: retryable as documented', () => {
  const operations = readFileSync(new URL('../docs/operations.md', import.meta.url), 'utf8');
  const rowOf = (code: string) => operations.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));

  it('has a row for every code in the error table of docs/operations.md', () => {
    for (const code of Object.keys(errorCatalogue)) expect(rowOf(code), `${code} has no row`).toBeDefined();
  });

  it('marks retryable what the table says the connector retries by itself', () => {
    const retriedByItself =
      /retries by itself|retried with back-off|backs off and|reconnects by itself|is tried again|next attempt/;
    for (const code of Object.keys(errorCatalogue) as ErrorCode[]) {
      const fix = (rowOf(code) ?? '').split('|')[3] ?? '';
      if (retriedByItself.test(fix)) expect(errorCatalogue[code].retryable, `${code}: ${fix.trim()}`).toBe(true);
    }
  });

  it('marks permanent exactly the codes after which the table says the mailbox is disabled, none of them retryable', () => {
    const permanent = (Object.keys(errorCatalogue) as ErrorCode[]).filter((code) =>
      isPermanent(new ExhError(code, 'm', errorCatalogue[code].retryable)),
    );
    expect(permanent.sort()).toEqual(
      [
        'EXH_EXCHANGE_AUTH_FAILED',
        'EXH_EXCHANGE_IMPERSONATION_DENIED',
        'EXH_EXCHANGE_MAILBOX_NOT_FOUND',
        'EXH_EXCHANGE_PERMISSION_DENIED',
        'EXH_EXCHANGE_MAILBOX_NOT_IN_CLOUD',
      ].sort(),
    );
    const disabledAfter = (Object.keys(errorCatalogue) as ErrorCode[]).filter((code) =>
      /the mailbox is disabled/.test((rowOf(code) ?? '').split('|')[3] ?? ''),
    );
    expect(disabledAfter.sort()).toEqual(permanent);
    for (const code of permanent) expect(errorCatalogue[code].retryable, code).toBe(false);
  });

  it('decides permanence from the serialized form alone, and never for a retryable or unknown code', () => {
    expect(isPermanent(serializeError(errors.mailboxNotFound('ann@contoso.test', 'unknown')))).toBe(true);
    expect(isPermanent({ code: 'EXH_EXCHANGE_AUTH_FAILED', retryable: true })).toBe(false);
    expect(isPermanent({ code: 'EXH_EXCHANGE_REQUEST_FAILED', retryable: false })).toBe(false);
    expect(isPermanent({ code: 'toString', retryable: false })).toBe(false);
    expect(isPermanent(serializeError(new Error('a bug')))).toBe(false);
  });

  it('marks as a lost database exactly a lost connection, an unreachable database and a refused login', () => {
    const gone = (Object.keys(errorCatalogue) as ErrorCode[]).filter((code) =>
      isDatabaseGone(new ExhError(code, 'm', errorCatalogue[code].retryable)),
    );
    expect(gone.sort()).toEqual(['EXH_DB_CONNECTION_LOST', 'EXH_DB_LOGIN_FAILED', 'EXH_DB_UNREACHABLE']);
    for (const code of gone) expect(errorCatalogue[code].retryable, code).toBe(true);
  });

  it('decides a lost database from the serialized form alone; busy, a raising procedure or a bug is not one', () => {
    const target = 'postgres://exh@db:5432/app';
    expect(isDatabaseGone(errors.databaseConnectionLost(target, new Error('reset')))).toBe(true);
    expect(isDatabaseGone(serializeError(errors.databaseConnectionLost(target, new Error('reset'))))).toBe(true);
    expect(isDatabaseGone(errors.databasePoolExhausted(target, 4, 10_000, new Error('wait')))).toBe(false);
    expect(isDatabaseGone(errors.procedureFailed('exh_get_item_task', new Error('raised')))).toBe(false);
    expect(isDatabaseGone({ code: 'toString' })).toBe(false);
    expect(isDatabaseGone(serializeError(new Error('a bug')))).toBe(false);
    expect(isDatabaseGone(null)).toBe(false);
    expect(isDatabaseGone('EXH_DB_CONNECTION_LOST')).toBe(false);
  });
});

describe('the error catalogue: messages', () => {
  it("name what to do, or what the connector does by itself, or carry the caller's words that do", () => {
    for (const [name, error, sample] of built()) {
      if ('fix' in sample) expect(error.message, name).toMatch(sample.fix);
      else expect(error.message, name).toMatch(sample.caller);
    }
  });

  it("keep details JSON-safe and free of the causes' objects", () => {
    for (const [name, error] of built()) {
      expect(JSON.parse(JSON.stringify(error.details)), name).toEqual(error.details);
    }
  });
});

describe('the error catalogue: serialization', () => {
  it('round-trips every error through JSON into machine context unchanged', () => {
    for (const [name, error] of built()) {
      const serialized = serializeError(error);
      expect(serialized, name).toMatchObject({ code: error.code, message: error.message, retryable: error.retryable });
      expect(serializeError(JSON.parse(JSON.stringify(error))), name).toEqual(serialized);
      expect(serializeError(serialized), name).toEqual(serialized);
      expect(JSON.parse(JSON.stringify(error)), name).toEqual(error.toJSON());
    }
  });

  it("keeps Exchange's BackOffMilliseconds, and serializes anything uncoded as EXH_INTERNAL, not retryable", () => {
    expect(serializeError(errors.exchangeThrottled(ews, 30_000))).toMatchObject({ backOffMs: 30_000, retryable: true });
    expect(serializeError(new TypeError('x is undefined'))).toEqual({
      code: 'EXH_INTERNAL',
      message: 'x is undefined',
      retryable: errorCatalogue.EXH_INTERNAL.retryable,
    });
  });
});
