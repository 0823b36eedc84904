import type { DatabasePort, SetUp } from '../../ports/database.port.js';
import type { Dialect } from '../sql/types.js';

/**
 * What every adapter offers beyond DatabasePort: running the base project's scripts (exh db install, the demo's
 * in-memory PGlite). Not part of the port because the runtime never installs.
 */
export interface InstallableDatabase extends DatabasePort {
  readonly dialect: Dialect;
  /** Runs one generated script (src/db/sql) as a whole; PostgreSQL and PGlite in one transaction. */
  runScript(script: string): Promise<void>;
}

/** The session flag (PostgreSQL setting, SQL Server SESSION_CONTEXT key) set while the connector applies changes. */
export const applyingFlag = 'exh.applying';

/** exh_set_up parameters the connector writes at start-up, where the senders find it (docs/database.md, "Start-up"). */
export const setUpParameters = {
  ipAddress: 'exh_ip_address',
  port: 'exh_ip_address_port',
  token: 'exh_listener_token',
  /** Several instances: every live instance's listener, `host:port` separated by commas (docs/senders.md). */
  addresses: 'exh_ip_addresses',
} as const;

/** The exh_set_up rows of a SetUp, as each adapter upserts them: exh_ip_addresses only when given (a cluster). */
export function setUpRows(setUp: SetUp): [string, string][] {
  const rows: [string, string][] = [
    [setUpParameters.ipAddress, setUp.ipAddress],
    [setUpParameters.port, String(setUp.port)],
    [setUpParameters.token, setUp.token],
  ];
  if (setUp.addresses) rows.push([setUpParameters.addresses, setUp.addresses.join(',')]);
  return rows;
}

/** `host:port` for exh_ip_addresses; an IPv6 address in brackets, so that its last colon still starts the port. */
export function listenerAddress(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** exh_ip_addresses read back: each `host:port` (brackets taken off); entries without a valid port are left out. */
export function parseListenerAddresses(value: string): Array<{ host: string; port: number }> {
  const found: Array<{ host: string; port: number }> = [];
  for (const entry of value.split(',').map((e) => e.trim())) {
    const colon = entry.lastIndexOf(':');
    const port = Number(entry.slice(colon + 1));
    const host = entry.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    if (colon > 0 && host !== '' && Number.isInteger(port) && port > 0 && port < 65536) found.push({ host, port });
  }
  return found;
}
