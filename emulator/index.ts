import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { EmulatorAdmin } from './admin/api.js';
import { type EmulatorClock, systemClock } from './clock.js';
import { type Core, type EmulatorLogger, type EmulatorSettings, silentLogger } from './context.js';
import { Faults } from './faults.js';
import { graphPrefix, registerGraph } from './graph/index.js';
import { type GraphAppOptions, graphTenant } from './graph/token.js';
import { Subscriptions } from './notifications/subscriptions.js';
import { RequestLog } from './request-log.js';
import { buildServer, paths } from './server.js';
import { loadStore, saveStore } from './store/persistence.js';
import { Store } from './store/store.js';
import { ResponseRecorder } from './validation.js';

/**
 * The Exchange emulator: EWS SOAP and SOAP Autodiscover over HTTP with in-memory mailboxes, for tests, the demo and
 * application developers (`exh emulator`). This is its composition root; docs/emulator.md describes what it does.
 */

export {
  AdminError,
  EmulatorAdmin,
  type EmulatorSettingsInput,
  type ItemInput,
  type ItemSummary,
} from './admin/api.js';
export type { EmulatorClock, TimerHandle } from './clock.js';
export type { EmulatorLogger } from './context.js';
export type { Fault, FaultInput } from './faults.js';
export type { LoggedRequest, RequestFilter } from './request-log.js';
export { SchemaValidationError } from './validation.js';

export interface EmulatorOptions {
  /** Default 8200; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default alice@contoso.test, bob@contoso.test. */
  mailboxes?: string[];
  /** Default exh-service@ the first mailbox's domain. */
  serviceAccount?: string;
  /** The password of the service account and of every mailbox owner. Default 'exh'. */
  password?: string;
  /** Load mailboxes from this JSON file at start (when it exists) and save them to it on close. */
  dataFile?: string;
  /** Whether the service account may impersonate (ApplicationImpersonation). Default true. */
  impersonationAllowed?: boolean;
  /**
   * Record every SOAP body sent and every request answered, for admin.validateResponses() against messages.xsd.
   * Default false (on in tests).
   */
  validateResponses?: boolean;
  logger?: EmulatorLogger;
  /** Carry the organizer's custom extended properties to attendees' copies (Exchange does not). Default false. */
  copyExtendedPropertiesToAttendees?: boolean;
  /**
   * Streaming connections per mailbox before ErrorExceededConnectionCount: Exchange's HangingConnectionLimit.
   * Default 3, as Exchange on premises (Exchange Online: 10). Switchable at run time (admin.updateSettings).
   */
  maxHangingConnections?: number;
  /** EWSFindCountLimit: most items a FindItem answers with. Default 1000, as Exchange. Switchable at run time. */
  findCountLimit?: number;
  /** Mailbox servers the mailboxes are spread over (GroupingInformation). Default 2. */
  mailboxServers?: number;
  /** Length of an EWS "minute" in ms (subscription timeouts, StatusFrequency, ConnectionTimeout). Default 60000. */
  minuteMs?: number;
  /** Interval of streaming keep-alives in ms. Default 30000. */
  keepAliveMs?: number;
  /** Largest request body in bytes. Default 16 MiB. */
  bodyLimit?: number;
  /** Seed of the generator behind faults that hit "a share of calls". */
  faultSeed?: number;
  /** Where messages.xsd and friends are (for validateResponses). Default: `ewsSchemaDirectory()` (EXH_EWS_SCHEMA_DIR). */
  schemaDirectory?: string;
  /** The time behind timestamps and subscription expiry. Default Date.now; `clock` supersedes it. */
  now?: () => number;
  /** Time and timers (expiry, push retries and status events, keep-alives, ConnectionTimeout, latency faults). */
  clock?: EmulatorClock;
  /**
   * Graph's app registration instead of the default (tenant contoso.test, client 00000000-0000-0000-0000-0000000e4e00,
   * secret exh-emulator-secret, tokens of 3599 s, consented); also at run time with admin.updateGraphApp.
   */
  graphApp?: Partial<GraphAppOptions>;
  /** Serve Microsoft Graph v1.0 (and its token endpoint and Autodiscover v2) over the same mailboxes. Default true. */
  graph?: boolean;
}

export interface RunningEmulator {
  /** http://HOST:PORT/EWS/Exchange.asmx */
  url: string;
  /** http://HOST:PORT/autodiscover/autodiscover.svc */
  autodiscoverUrl: string;
  /** http://HOST:PORT/emulator/admin */
  adminUrl: string;
  /** http://HOST:PORT/graph/v1.0 (Microsoft Graph; '' when started with graph: false). */
  graphUrl: string;
  host: string;
  port: number;
  serviceAccount: string;
  password: string;
  admin: EmulatorAdmin;
  /** Ends streaming connections and push deliveries, saves the data file (if any) and stops listening. */
  close(): Promise<void>;
}

const optionsSchema = z.object({
  port: z.number().int().min(0).max(65535).default(8200),
  host: z.string().min(1).default('127.0.0.1'),
  mailboxes: z
    .array(z.string().regex(/^[^@\s,]+@[^@\s,]+$/, 'must be an SMTP address'))
    .min(1)
    .default(['alice@contoso.test', 'bob@contoso.test']),
  serviceAccount: z
    .string()
    .regex(/^[^@\s]+@[^@\s]+$/, 'must be an SMTP address')
    .optional(),
  password: z.string().min(1).default('exh'),
  dataFile: z.string().min(1).optional(),
  impersonationAllowed: z.boolean().default(true),
  validateResponses: z.boolean().default(false),
  copyExtendedPropertiesToAttendees: z.boolean().default(false),
  maxHangingConnections: z.number().int().positive().default(3),
  findCountLimit: z.number().int().positive().default(1000),
  mailboxServers: z.number().int().positive().default(2),
  minuteMs: z.number().positive().default(60_000),
  keepAliveMs: z.number().positive().default(30_000),
  bodyLimit: z
    .number()
    .int()
    .positive()
    .default(16 * 1024 * 1024),
  faultSeed: z.number().int().default(1),
  schemaDirectory: z.string().optional(),
  graph: z.boolean().default(true),
});

/** Thrown by startEmulator for options it cannot use; the message names each one (`mailboxes.0: must be …`). */
export class EmulatorOptionsError extends Error {
  override readonly name = 'EmulatorOptionsError';
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The one line `exh emulator` prints once it listens. */
export function emulatorCommandLine(options: { url: string } | { host?: string; port: number }): string {
  const url =
    'url' in options ? options.url : `http://${hostForUrl(options.host ?? '127.0.0.1')}:${options.port}${paths.ews}`;
  return `EWS emulator listening on ${url}`;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const { logger, now: nowOption, clock: clockOption, graphApp, ...rest } = options;
  const result = optionsSchema.safeParse(rest);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`);
    throw new EmulatorOptionsError(`Invalid emulator options: ${problems.join('; ')}`);
  }
  const parsed = result.data;
  const log = logger ?? silentLogger;
  const domain = parsed.mailboxes[0]?.split('@')[1] ?? 'contoso.test';
  const settings: EmulatorSettings = {
    serviceAccount: (parsed.serviceAccount ?? `exh-service@${domain}`).toLowerCase(),
    password: parsed.password,
    impersonationAllowed: parsed.impersonationAllowed,
    copyExtendedPropertiesToAttendees: parsed.copyExtendedPropertiesToAttendees,
    maxHangingConnections: parsed.maxHangingConnections,
    findCountLimit: parsed.findCountLimit,
    mailboxServers: parsed.mailboxServers,
    minuteMs: parsed.minuteMs,
    keepAliveMs: parsed.keepAliveMs,
    bodyLimit: parsed.bodyLimit,
  };
  const clock = clockOption ?? systemClock(nowOption);
  const now = () => clock.now();
  const store = new Store(now);
  const loaded = parsed.dataFile ? loadStore(store, parsed.dataFile) : false;
  if (!loaded) for (const address of parsed.mailboxes) store.add(address);
  let url = '';
  const core: Core = {
    store,
    settings,
    faults: new Faults(parsed.faultSeed),
    subscriptions: new Subscriptions(store, settings, now, log),
    recorder: parsed.validateResponses ? new ResponseRecorder(parsed.schemaDirectory) : undefined,
    requests: new RequestLog(),
    log,
    clock,
    now,
    ewsUrl: () => url,
  };
  const persist = async () => {
    if (parsed.dataFile) saveStore(store, parsed.dataFile);
  };
  if (graphApp) {
    try {
      graphTenant(core).configure(graphApp);
    } catch (error) {
      const problems =
        error instanceof z.ZodError
          ? error.issues.map((i) => `graphApp.${i.path.join('.') || '?'}: ${i.message}`).join('; ')
          : `graphApp: ${(error as Error).message}`;
      throw new EmulatorOptionsError(`Invalid emulator options: ${problems}`);
    }
  }
  const admin = new EmulatorAdmin(core, persist);
  const app = buildServer(core, admin);
  if (parsed.graph) registerGraph(app, core);
  await app.listen({ port: parsed.port, host: parsed.host });
  const address = app.server.address() as AddressInfo;
  const origin = `http://${hostForUrl(parsed.host)}:${address.port}`;
  url = `${origin}${paths.ews}`;
  log.info({ url, mailboxes: store.size, dataFile: parsed.dataFile, loaded }, emulatorCommandLine({ url }));
  let closing: Promise<void> | undefined;
  return {
    url,
    autodiscoverUrl: `${origin}${paths.autodiscoverSvc}`,
    adminUrl: `${origin}${paths.admin}`,
    graphUrl: parsed.graph ? `${origin}${graphPrefix}` : '',
    host: parsed.host,
    port: address.port,
    serviceAccount: settings.serviceAccount,
    password: settings.password,
    admin,
    close: () => {
      closing ??= (async () => {
        core.subscriptions.close();
        await app.close();
        await persist();
      })();
      return closing;
    },
  };
}
