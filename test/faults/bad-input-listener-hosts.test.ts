import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { createPgliteDatabase } from '../../src/db/adapters/pglite.js';
import { installInto } from '../../src/db/commands.js';
import { createExchangeBackend, type ExchangeBackend } from '../../src/exchange/create-exchange.js';
import { createLogging } from '../../src/logging/logger.js';
import { type Runtime, startRuntime } from '../../src/runtime.js';
import { registerConfigSecrets, testSecret } from '../support/log-scan.js';
import { type LogRecord, report } from './bad-input-world.js';

/**
 * Every listener binds 127.0.0.1 unless configured (docs/reliability.md, "Bad input"): the configuration's defaults
 * say so, and a connector started with nothing but ports set (all four listeners on, push notifications so that the
 * push receiver starts) says where it listens, and really cannot be reached on another address of this machine.
 */

const listeners = ['log', 'database', 'exchange', 'http'] as const;

/** A configuration as a user writes it: no host anywhere, every listener on, each on a free port. */
function configWithoutHosts() {
  return {
    database: { type: 'pglite' },
    exchange: {
      // Never reached: the connector has no users.
      staticEwsUrl: 'http://127.0.0.1:9/EWS/Exchange.asmx',
      impersonationUser: 'exh-service@contoso.test',
      impersonationPassword: testSecret('exchange.impersonationPassword'),
      notifications: 'push',
    },
    listeners: {
      log: { port: 0 },
      database: { port: 0 },
      exchange: { port: 0 },
      http: { port: 0, adminToken: testSecret('listeners.http.adminToken') },
    },
    log: { level: 'debug', format: 'json' },
  };
}

/** Whether a TCP connection to host:port is accepted (false on ECONNREFUSED or anything else). */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(2_000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('every listener binds 127.0.0.1 unless configured', () => {
  it('in the configuration schema: each listener defaults to 127.0.0.1, and the database listener token to none written down', () => {
    const config = configSchema.parse(configWithoutHosts());
    for (const listener of listeners) expect(config.listeners[listener].host, listener).toBe('127.0.0.1');
    // No token configured: a new random one at each start (src/runtime.ts), written to exh_set_up, never logged.
    expect(config.listeners.database.token).toBeUndefined();
    report(`listeners: defaults ${listeners.map((l) => `${l} ${config.listeners[l].host}`).join(', ')}`);
  });

  describe('in a started connector', () => {
    let runtime: Runtime;
    let backend: ExchangeBackend;
    let instance: PGlite;
    const records: LogRecord[] = [];

    beforeAll(async () => {
      instance = await PGlite.create();
      const db = createPgliteDatabase({ instance });
      await db.connect();
      await installInto(db, { exampleApp: true });
      await db.close();
      const raw = configWithoutHosts();
      registerConfigSecrets(raw);
      const config = configSchema.parse(raw);
      const logging = createLogging({
        level: 'debug',
        format: 'json',
        stdout: { write: (line: string) => void records.push(JSON.parse(line)) },
      });
      backend = await createExchangeBackend(config, logging.logger);
      runtime = startRuntime({ config, logging, db: createPgliteDatabase({ instance }), exchange: backend.port });
    }, 60_000);
    afterAll(async () => {
      await runtime?.stop();
      await backend?.close();
      await instance?.close();
    });

    it('says it listens on 127.0.0.1 for each of the four, and is not reachable on another address of the machine', async () => {
      const where = await vi.waitFor(
        () => {
          const find = (test: (r: LogRecord) => boolean, what: string) => {
            const record = records.find(test);
            if (!record) throw new Error(`no record yet of where the ${what} listens`);
            return record;
          };
          const push = find(
            (r) => typeof r.url === 'string' && /Push notifications are received/.test(String(r.msg)),
            'push receiver',
          );
          const pushUrl = new URL(String(push.url));
          return {
            log: find((r) => /^Log feed listening on /.test(String(r.msg)), 'log feed'),
            database: find((r) => /^Database listener on /.test(String(r.msg)), 'database listener'),
            exchange: { host: pushUrl.hostname, port: Number(pushUrl.port) },
            http: find((r) => r.event === 'http.listening', 'HTTP listener'),
          };
        },
        { timeout: 20_000, interval: 20 },
      );
      const other = Object.values(networkInterfaces())
        .flat()
        .find((address) => address && address.family === 'IPv4' && !address.internal)?.address;
      const lines: string[] = [];
      for (const listener of listeners) {
        const { host, port } = where[listener] as { host: string; port: number };
        expect(host, listener).toBe('127.0.0.1');
        expect(await accepts('127.0.0.1', port), `${listener} on 127.0.0.1:${port}`).toBe(true);
        const elsewhere = other === undefined ? undefined : await accepts(other, port);
        if (elsewhere !== undefined) expect(elsewhere, `${listener} on ${other}:${port}`).toBe(false);
        lines.push(
          `${listener} ${host}:${port}${other === undefined ? '' : ` (${other}:${port} ${elsewhere ? 'accepts' : 'refused'})`}`,
        );
      }
      // The push receiver says who can reach it, and what to set for another Exchange.
      expect(
        records.some((r) => r.cat === 'W' && /The push listener listens on 127\.0\.0\.1/.test(String(r.msg))),
      ).toBe(true);
      report(
        `listeners of a started connector: ${lines.join(', ')}${other === undefined ? ' (no other IPv4 address to try)' : ''}`,
      );
    }, 30_000);
  });
});
