import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { stringify as toYaml } from 'yaml';
import { parseKeyValueString } from '../db/target.js';
import { errors } from '../errors.js';
import { type ConfigInput, configSchema, exchangeVersions } from './schema.js';

/**
 * `exh config migrate`: the original Windows service's ExchangeSyncService.exe.config (appSettings and
 * connectionStrings, under the original's setting names) → our configuration (docs/operations.md, "Moving from the
 * original service"). Pure: the command reads the file and prints.
 * Every setting that is not carried over as it was is named in `notes` with the reason, so nothing is lost silently.
 */

export interface MigrationNote {
  /** The original's setting (appSettings key, `connectionStrings/NAME`, or an XML section). */
  setting: string;
  /** Why it was not carried over, or what changed on the way. */
  reason: string;
}

export interface Migration {
  /** Only the keys that were set (defaults are left to the schema), already validated against it. */
  config: ConfigInput;
  notes: MigrationNote[];
}

interface Draft {
  database: Record<string, unknown>;
  exchange: Record<string, unknown>;
  listeners: { log: Record<string, unknown>; database: Record<string, unknown>; exchange: Record<string, unknown> };
  sync: Record<string, unknown>;
}

/** The original's DatabaseType values (and the spellings found in the field) → database.type. */
const databaseTypes: Record<string, 'sqlserver' | 'db2'> = { sqlserver: 'sqlserver', iseries: 'db2', db2: 'db2' };

type Section = 'database' | 'exchange' | 'sync' | 'log' | 'databaseListener' | 'exchangeListener';
/** A value read from the setting's text; undefined: the setting is empty and leaves the key to its default. */
type Reader = (setting: string, value: string) => unknown;

const text: Reader = (_setting, value) => (value.trim() === '' ? undefined : value.trim());
const secret: Reader = (_setting, value) => (value === '' ? undefined : value);
const databaseType: Reader = (setting, value) => {
  const type = databaseTypes[value.trim().toLowerCase()];
  if (!type) throw unreadable(setting, value, 'SQLServer or iSeries');
  return type;
};

/** appSettings keys (compared case-insensitively) → [where, key, how to read]. */
const settings: Record<string, [Section, string, Reader]> = {
  logport: ['log', 'port', port],
  databaselistenport: ['databaseListener', 'port', port],
  exchangelistenport: ['exchangeListener', 'port', port],
  databasetype: ['database', 'type', databaseType],
  htmlbody: ['sync', 'htmlBody', bool],
  maxbodylength: ['sync', 'maxBodyLength', count],
  maxsyncedrecurrences: ['sync', 'maxSyncedRecurrences', count],
  meetingrequestsresponses: ['sync', 'meetingRequestsResponses', bool],
  exchangeconcurrencylevel: ['exchange', 'concurrency', count],
  enablescplookup: ['exchange', 'enableScpLookup', bool],
  exchangetimeout: ['exchange', 'timeoutMs', count],
  staticewsurl: ['exchange', 'staticEwsUrl', text],
  impersonationuser: ['exchange', 'impersonationUser', text],
  impersonationpassword: ['exchange', 'impersonationPassword', secret],
  ignoressl: ['exchange', 'ignoreSsl', bool],
  exchangeversion: ['exchange', 'version', exchangeVersion],
};

function sectionOf(draft: Draft, section: Section): Record<string, unknown> {
  switch (section) {
    case 'log':
      return draft.listeners.log;
    case 'databaseListener':
      return draft.listeners.database;
    case 'exchangeListener':
      return draft.listeners.exchange;
    default:
      return draft[section];
  }
}

/** EWS Managed API's ExchangeVersion enumeration: 5 is Exchange2013_SP1, Exchange Online's (docs/configuration.md). */
function exchangeVersion(setting: string, value: string): string {
  const trimmed = value.trim();
  const byNumber = /^\d+$/.test(trimmed) ? exchangeVersions[Number(trimmed)] : undefined;
  const byName = exchangeVersions.find((v) => v.toLowerCase() === trimmed.toLowerCase());
  const version = byNumber ?? byName;
  if (!version)
    throw unreadable(setting, value, `0–${exchangeVersions.length - 1} or one of ${exchangeVersions.join(', ')}`);
  return version;
}

function unreadable(setting: string, value: string, expected: string) {
  return errors.migrateUnreadable(`appSettings ${setting}="${value}" is not ${expected}`);
}

function bool(setting: string, value: string): boolean {
  const text = value.trim().toLowerCase();
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0' || text === '') return false;
  throw unreadable(setting, value, 'true or false');
}

/** A whole number; empty means 0, as the original read MaxSyncedRecurrences (docs/configuration.md). */
function count(setting: string, value: string): number {
  const text = value.trim();
  if (text === '') return 0;
  if (!/^\d+$/.test(text)) throw unreadable(setting, value, 'a whole number');
  return Number(text);
}

function port(setting: string, value: string): number {
  const number = count(setting, value);
  if (number > 65535) throw unreadable(setting, value, 'a port number (0–65535)');
  return number;
}

/**
 * What fast-xml-parser found wrong, said plainly: its message for tags left open at the end of the file is a printed
 * array at line 1 (`Invalid '[ "configuration", … ]' found.`), which says neither what nor where.
 */
function brokenXml(xml: string, err: { code: string; msg: string; line: number; col: number }): string {
  const open = err.code === 'InvalidXml' ? [...err.msg.matchAll(/"([^"]+)"/g)].map((match) => match[1]) : [];
  if (open.length > 0) {
    const lines = xml.split(/\r?\n/);
    const line = lines.length;
    const column = (lines.at(-1)?.length ?? 0) + 1;
    return (
      `broken XML at line ${line}, column ${column} (the end of the file): ${open.map((tag) => `<${tag}>`).join(', ')} ` +
      `${open.length === 1 ? 'is' : 'are'} never closed; add the missing closing tag (${open
        .reverse()
        .map((tag) => `</${tag}>`)
        .join('')}) or use a complete copy of the file`
    );
  }
  return `broken XML at line ${err.line}, column ${err.col}: ${err.msg.replace(/\.$/, '')}`;
}

/** Sections of a .NET configuration file that belong to the .NET runtime, not to the service's behaviour. */
const runtimeSections = new Set(['startup', 'runtime', 'configSections', 'system.diagnostics', 'system.net']);

export function migrateServiceConfig(xml: string): Migration {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw errors.migrateUnreadable(brokenXml(xml, valid.err));
  const document = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    parseTagValue: false,
    isArray: (name) => name === 'add' || name === 'clear' || name === 'remove',
  }).parse(xml) as Record<string, unknown>;
  const root = document.configuration;
  if (typeof root !== 'object' || root === null || !('appSettings' in root)) {
    throw errors.migrateUnknownFormat(
      'expected a .NET configuration file (<configuration> with <appSettings>), as ExchangeSyncService.exe.config is',
    );
  }
  const sections = root as Record<string, unknown>;
  const notes: MigrationNote[] = [];
  const draft: Draft = { database: {}, exchange: {}, listeners: { log: {}, database: {}, exchange: {} }, sync: {} };

  for (const section of ['appSettings', 'connectionStrings']) {
    const attributes = sections[section] as Record<string, unknown> | undefined;
    for (const attribute of ['file', 'configSource']) {
      if (typeof attributes?.[attribute] === 'string') {
        notes.push({
          setting: `<${section} ${attribute}="${attributes[attribute]}">`,
          reason: 'settings kept in another file are not read; run exh config migrate on a copy with them inlined',
        });
      }
    }
  }
  for (const { key, value } of entries(sections.appSettings, 'key', 'value')) {
    const convert = settings[key.toLowerCase()];
    if (!convert) {
      notes.push({ setting: key, reason: 'not a setting of the original service that exh knows; not carried over' });
      continue;
    }
    const [section, name, read] = convert;
    const converted = read(key, value);
    if (converted !== undefined) sectionOf(draft, section)[name] = converted;
    if (name === 'ignoreSsl' && converted === true) {
      notes.push({
        setting: key,
        reason: 'carried over as exchange.ignoreSsl: true; install a valid certificate and remove it',
      });
    }
  }

  const connections = entries(sections.connectionStrings, 'name', 'connectionString');
  const [connection, ...others] = connections;
  for (const other of others) {
    notes.push({
      setting: `connectionStrings/${other.key}`,
      reason: `exh connects to one database; "${connection?.key}" (the first) was used`,
    });
  }
  if (connection) {
    const converted = convertConnectionString(draft.database.type, connection.value);
    draft.database.connectionString = converted.connectionString;
    for (const reason of converted.notes) notes.push({ setting: `connectionStrings/${connection.key}`, reason });
  }

  for (const section of Object.keys(sections)) {
    if (section === 'appSettings' || section === 'connectionStrings' || section.startsWith('?')) continue;
    notes.push({
      setting: `<${section}>`,
      reason: runtimeSections.has(section)
        ? '.NET runtime settings; exh runs on Node.js and needs none'
        : 'not part of the service settings exh knows; not carried over',
    });
  }

  // The original listened on every interface (its firewall exceptions open 9988 to the database server).
  if (draft.database.type !== undefined) {
    draft.listeners.database.host = '0.0.0.0';
    notes.push({
      setting: 'DatabaseListenPort',
      reason:
        'listeners.database.host set to 0.0.0.0 so that the database server can reach it, as the original service ' +
        "listened; exh_set_up gets this machine's address (set listeners.database.advertisedAddress to choose it)",
    });
  }
  notes.push({
    setting: '(notifications)',
    reason:
      'the original service used push notifications; exh uses streaming (no inbound port needed). For push, set ' +
      'exchange.notifications: push and listeners.exchange.publicUrl',
  });
  if (typeof draft.exchange.staticEwsUrl === 'string' && /\.office365\.com\//i.test(draft.exchange.staticEwsUrl)) {
    notes.push({
      setting: 'StaticEwsUrl',
      reason:
        'Exchange Online no longer accepts a password for EWS: set exchange.auth: oauth and exchange.oauthToken ' +
        '(an app registration with EWS access)',
    });
  } else if (draft.exchange.impersonationUser !== undefined) {
    notes.push({
      setting: 'ImpersonationUser',
      reason:
        'the original let Windows negotiate NTLM or Basic with Exchange; exh uses exchange.auth basic unless told: ' +
        'set exchange.auth: ntlm if Exchange has Basic authentication switched off',
    });
  }
  if (draft.exchange.impersonationUser === undefined) {
    notes.push({
      setting: 'ImpersonationUser',
      reason:
        'not set: the original service logged on as its Windows service account; exh needs the account named in ' +
        'exchange.impersonationUser (and its password)',
    });
  }

  // database and exchange stay even when empty, so that validation names their missing keys.
  const config = { database: {}, exchange: {}, ...prune({ ...draft }) } as ConfigInput;
  const result = configSchema.safeParse(config);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`);
    throw errors.migrateIncomplete(problems, notes);
  }
  return { config, notes };
}

/** The file's <add key=… value=…/> (or name/connectionString) pairs, in order. */
function entries(
  section: unknown,
  keyAttribute: string,
  valueAttribute: string,
): Array<{ key: string; value: string }> {
  if (typeof section !== 'object' || section === null) return [];
  const adds = (section as { add?: unknown[] }).add ?? [];
  return adds.flatMap((add) => {
    const attributes = add as Record<string, unknown>;
    const key = attributes[keyAttribute];
    if (typeof key !== 'string') return [];
    const value = attributes[valueAttribute];
    return [{ key, value: typeof value === 'string' ? value : String(value ?? '') }];
  });
}

/** Drops empty objects, so the printed file holds only what the original set. */
function prune(value: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (typeof child === 'object' && child !== null && !Array.isArray(child)) {
      const pruned = prune(child as Record<string, unknown>);
      if (Object.keys(pruned).length > 0) result[key] = pruned;
    } else if (child !== undefined) {
      result[key] = child;
    }
  }
  return result;
}

export function convertConnectionString(
  type: unknown,
  connectionString: string,
): { connectionString: string; notes: string[] } {
  if (type === 'db2') return convertDb2ConnectionString(connectionString);
  return convertSqlServerConnectionString(connectionString);
}

/** ADO.NET keys mssql (tedious) reads, in the spelling we write them. */
const sqlServerKeys: Record<string, string> = {
  server: 'Server',
  'data source': 'Server',
  address: 'Server',
  addr: 'Server',
  'network address': 'Server',
  database: 'Database',
  'initial catalog': 'Database',
  'user id': 'User Id',
  uid: 'User Id',
  user: 'User Id',
  password: 'Password',
  pwd: 'Password',
  encrypt: 'Encrypt',
  trustservercertificate: 'TrustServerCertificate',
  'connection timeout': 'Connection Timeout',
  'connect timeout': 'Connection Timeout',
  'application name': 'Application Name',
  'max pool size': 'Max Pool Size',
  'min pool size': 'Min Pool Size',
  'current language': 'Current Language',
  'packet size': 'Packet Size',
  applicationintent: 'ApplicationIntent',
  multisubnetfailover: 'MultiSubnetFailover',
  'workstation id': 'Workstation Id',
};

/** Keys that only mean something to .NET's SqlClient / OLE DB; tedious ignores or refuses them. */
const sqlServerDropped: Record<string, string> = {
  provider: 'an OLE DB provider name; exh talks TDS itself (mssql/tedious)',
  multipleactiveresultsets: 'MARS is not used by exh',
  'persist security info': 'a SqlClient setting with no meaning for exh',
  pooling: 'exh keeps its own pool',
  'network library': 'exh speaks TCP only',
  'asynchronous processing': 'a SqlClient setting with no meaning for exh',
  enlist: 'exh uses no distributed transactions',
  'type system version': 'a SqlClient setting with no meaning for exh',
  'failover partner': 'database mirroring failover is not supported by mssql; name the current principal in Server',
  attachdbfilename: 'attaching a database file is not supported; name the database in Database',
  'user instance': 'user instances are not supported',
};

/**
 * SQL Server: the ADO.NET string the original used → the ADO.NET string mssql accepts (src/db/adapters/sqlserver.ts
 * passes it to mssql.ConnectionPool). Differences that matter: Windows authentication has no equivalent without a
 * password (SSPI), named pipes are not supported, and .NET Framework did not encrypt by default while tedious does.
 */
export function convertSqlServerConnectionString(connectionString: string): {
  connectionString: string;
  notes: string[];
} {
  const notes: string[] = [];
  const out = new Map<string, string>();
  let integrated = false;
  for (const [key, value] of parseKeyValueString(connectionString)) {
    const dropped = sqlServerDropped[key];
    if (dropped) {
      notes.push(`${key} dropped: ${dropped}`);
      continue;
    }
    if (key === 'integrated security' || key === 'trusted_connection') {
      integrated = /^(true|yes|sspi)$/i.test(value);
      if (integrated) {
        notes.push(
          `${key}=${value} (Windows authentication) cannot be carried over: exh cannot log on as the service's ` +
            'Windows account. Use a SQL Server login (User Id=…;Password=…), or a domain account written ' +
            'User Id=DOMAIN\\user;Password=… (NTLM)',
        );
      }
      continue;
    }
    const name = sqlServerKeys[key];
    if (!name) {
      notes.push(`${key} is not a setting exh's SQL Server driver knows; dropped`);
      continue;
    }
    if (name === 'Server' && /^np:/i.test(value)) {
      notes.push(`${key}=${value}: named pipes are not supported; use the server's TCP address (host,port)`);
      out.set(name, value.replace(/^np:/i, '').replace(/\\pipe\\.*$/i, ''));
      continue;
    }
    out.set(name, value);
  }
  if (!out.has('Encrypt')) {
    // .NET Framework's SqlClient did not encrypt unless asked; tedious does, and fails against a server without a
    // certificate. Keep the original behaviour explicit so the operator can decide.
    out.set('Encrypt', 'false');
    notes.push(
      'Encrypt=false added: the original (.NET Framework) did not encrypt unless asked; set Encrypt=true (and ' +
        'TrustServerCertificate=false) once the server has a certificate',
    );
  }
  if (!out.has('User Id') && !integrated) {
    notes.push('no User Id: add a SQL Server login (User Id=…;Password=…)');
  }
  return { connectionString: [...out].map(([k, v]) => `${k}=${quote(v)}`).join(';'), notes };
}

/** IBM.Data.DB2(.iSeries) keys → the DB2 CLI keywords ibm_db uses. */
const db2Keys: Record<string, string> = {
  datasource: 'HOSTNAME',
  'data source': 'HOSTNAME',
  server: 'HOSTNAME',
  hostname: 'HOSTNAME',
  database: 'DATABASE',
  userid: 'UID',
  'user id': 'UID',
  uid: 'UID',
  password: 'PWD',
  pwd: 'PWD',
  port: 'PORT',
  defaultcollection: 'CurrentSchema',
  currentschema: 'CurrentSchema',
  checkconnectiononopen: 'CheckConnectionOnOpen',
  enableprefetch: 'EnablePreFetch',
};

/**
 * DB2 (the original's iSeries): the .NET provider's string → a DB2 CLI string for ibm_db. CheckConnectionOnOpen=true
 * and EnablePreFetch=false, which the original required, are kept (docs/operations.md, "DB2 driver", asks for them).
 */
export function convertDb2ConnectionString(connectionString: string): { connectionString: string; notes: string[] } {
  const notes: string[] = [];
  const out = new Map<string, string>();
  for (const [key, value] of parseKeyValueString(connectionString)) {
    const name = db2Keys[key];
    if (!name) {
      notes.push(`${key} is not a setting exh's DB2 driver (ibm_db, CLI) knows; dropped`);
      continue;
    }
    const [host, hostPort] = name === 'HOSTNAME' ? value.split(':') : [value];
    out.set(name, host ?? value);
    if (hostPort) out.set('PORT', hostPort);
  }
  if (!out.has('PORT')) {
    out.set('PORT', '446');
    notes.push(
      'PORT=446 added (DRDA on IBM i); the .NET provider found the port itself. Change it for DB2 LUW (50000)',
    );
  }
  if (!out.has('DATABASE')) {
    notes.push('no DATABASE: ibm_db needs the relational database name (WRKRDBDIRE on IBM i; often the system name)');
  }
  out.set('PROTOCOL', 'TCPIP');
  return { connectionString: [...out].map(([k, v]) => `${k}=${v}`).join(';'), notes };
}

function quote(value: string): string {
  return /[;'"{}]|^\s|\s$/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export type MigrationFormat = 'json' | 'yaml';

export function renderConfig(config: ConfigInput, format: MigrationFormat): string {
  // lineWidth 0: a long connection string stays on one line, as people read and copy it.
  return format === 'json' ? `${JSON.stringify(config, null, 2)}\n` : toYaml(config, { lineWidth: 0 });
}
