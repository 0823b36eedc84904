/**
 * The one catalogue of coded errors. Adapters translate foreign errors (pg, mssql, ibm_db, EWS, sockets) into these
 * at the boundary, so that machines decide on `code` and `retryable`, never on a driver's message text.
 *
 * Codes are stable strings grouped by subsystem (EXH_CONFIG_*, EXH_DB_*, EXH_LISTENER_*, EXH_POOL_*, EXH_EXCHANGE_*).
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

/** Every code with whether it is worth retrying. `as const` keeps the codes a closed set for switch statements. */
export const errorCatalogue = {
  EXH_CONFIG_NOT_FOUND: { retryable: false },
  EXH_CONFIG_UNREADABLE: { retryable: false },
  EXH_CONFIG_INVALID: { retryable: false },
  EXH_DB_UNREACHABLE: { retryable: true },
  EXH_DB_CONNECTION_LOST: { retryable: true },
  EXH_DB_LOGIN_FAILED: { retryable: true },
  EXH_DB_BASE_PROJECT_MISSING: { retryable: true },
  EXH_DB_PROCEDURE_FAILED: { retryable: false },
  EXH_DB_DRIVER_MISSING: { retryable: false },
  EXH_DB_UNSUPPORTED: { retryable: false },
  EXH_LISTENER_FAILED: { retryable: false },
  EXH_POOL_ABORTED: { retryable: false },
  EXH_EXCHANGE_UNAVAILABLE: { retryable: true },
} as const satisfies Record<string, { retryable: boolean }>;

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
  databaseUnreachable: (target: string, cause: unknown) =>
    make('EXH_DB_UNREACHABLE', `Cannot connect to the database at ${target}: ${describe(cause)}`, {
      cause,
      details: { target },
    }),
  databaseLoginFailed: (target: string, cause: unknown) =>
    make(
      'EXH_DB_LOGIN_FAILED',
      `The database at ${target} refused the login: ${describe(cause)}. ` +
        'Check the user and password in database.connectionString (EXH_DATABASE_CONNECTION_STRING).',
      { cause, details: { target } },
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
  procedureFailed: (procedure: string, cause: unknown) =>
    make('EXH_DB_PROCEDURE_FAILED', `${procedure} failed: ${describe(cause)}`, {
      cause,
      details: { procedure },
    }),
  driverMissing: (pkg: string, databaseType: string, cause: unknown) =>
    make(
      'EXH_DB_DRIVER_MISSING',
      `database.type "${databaseType}" needs the npm package "${pkg}", which is not installed or cannot load: ` +
        `run "npm install ${pkg}" (it needs IBM's CLI driver; see docs/operations.md). Cause: ${describe(cause)}`,
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
  poolAborted: () => make('EXH_POOL_ABORTED', 'The Exchange request was cancelled because its actor stopped.'),
} as const;

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

export function isExhError(value: unknown, code?: ErrorCode): value is ExhError {
  return value instanceof ExhError && (code === undefined || value.code === code);
}
