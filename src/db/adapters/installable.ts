import type { DatabasePort } from '../../ports/database.port.js';
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
} as const;
