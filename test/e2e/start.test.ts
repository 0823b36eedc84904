import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installBaseProject } from '../../src/db/commands.js';
import { runExh } from '../support/exh-process.js';
import { freePort, lineReader, TcpProxy } from '../support/net.js';
import { schemaUrl } from '../support/pg.js';

const pgUrl = process.env.PG_URL;

/** Through the test's proxy port; the server trusts local connections and ignores the password, which is there to
 * prove that no log record ever shows it. */
const viaProxy = (url: string, schema: string, port: number) => schemaUrl(url, schema, { port, password: 'Pg-S3cret' });

describe.skipIf(!pgUrl)('exh start against the real PostgreSQL server (PG_URL)', () => {
  const schema = `exh_e2e_${randomBytes(4).toString('hex')}`;
  let admin: pg.Client;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    await installBaseProject(
      { type: 'postgres', connectionString: schemaUrl(pgUrl as string, schema) },
      { exampleApp: true },
    );
    await admin.query(
      `insert into ${schema}.app_user (exh_user, sync_calendar, sync_contact, sync_email, sync_task)
       values ('alice@contoso.test', true, true, true, true), ('bob@contoso.test', true, false, false, false)`,
    );
  });

  afterAll(async () => {
    await admin?.query(`drop schema if exists ${schema} cascade`);
    await admin?.end();
  });

  it('retries an unreachable database, starts the mailboxes once it is reachable, survives a loss, and stops on SIGTERM', async () => {
    const [dbPort, logPort, listenerPort] = [await freePort(), await freePort(), await freePort()];
    const proxy = new TcpProxy(dbPort, {
      host: new URL(pgUrl as string).hostname,
      port: Number(new URL(pgUrl as string).port || 5432),
    });
    const configFile = join(mkdtempSync(join(tmpdir(), 'exh-e2e-')), 'exh.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        database: {
          type: 'postgres',
          connectionString: viaProxy(pgUrl as string, schema, dbPort),
          probeIntervalMs: 300,
        },
        exchange: { impersonationUser: 'exh-service@contoso.test', impersonationPassword: 'exh' },
        listeners: { log: { port: logPort }, database: { port: listenerPort }, http: { port: 0 } },
        retry: { databaseIntervalMs: 1_000 },
        log: { format: 'json' },
      }),
    );
    const exh = runExh(['start', '--config', configFile]);
    try {
      // Unreachable: an E record naming host and port and the next retry, and the service keeps trying.
      const unreachable = await exh.waitForRecord((r) => r.event === 'database.unreachable');
      expect(unreachable.cat).toBe('E');
      expect(unreachable.msg).toContain(`127.0.0.1:${dbPort}`);
      expect(Date.parse(String(unreachable.nextRetryAt))).toBeGreaterThan(Date.parse(String(unreachable.time)));
      await exh.waitForRecord((r) => r.event === 'database.unreachable' && r.attempt === 2);

      // Reachable: ready, exh_set_up written, one mailbox per user.
      await proxy.open();
      await exh.waitForRecord((r) => r.event === 'database.ready');
      const started = await exh.waitForRecord((r) => r.event === 'mailboxes.started');
      expect(started.count).toBe(2);
      const setUp = await admin.query(
        `select exh_parameter, exh_value from ${schema}.exh_set_up order by exh_parameter`,
      );
      const values = Object.fromEntries(setUp.rows.map((row) => [row.exh_parameter, row.exh_value]));
      expect(values.exh_ip_address).toBe('127.0.0.1');
      expect(values.exh_ip_address_port).toBe(String(listenerPort));
      expect(String(values.exh_listener_token ?? '')).toHaveLength(32);
      expect(
        exh.records
          .filter((r) => r.event === 'mailbox.started')
          .map((r) => r.user)
          .sort(),
      ).toEqual(['alice@contoso.test', 'bob@contoso.test']);

      // The log feed: `e` shows only errors.
      const feed = connect(logPort, '127.0.0.1');
      const feedLines = lineReader(feed);
      await feedLines.waitFor((line) => line.includes('log feed'));
      feed.write('e\r\n');
      await feedLines.waitFor((line) => line === 'Now showing: E.');
      const filteredFrom = feedLines.lines.length;

      // Loss: the probe notices, the mailboxes stop, and everything comes back with the database.
      await proxy.cut();
      const lost = await exh.waitForRecord((r) => r.event === 'database.lost');
      expect(lost.cat).toBe('E');
      await exh.waitForRecord(
        (r) => r.event === 'database.connecting' && Date.parse(String(r.time)) > Date.parse(String(lost.time)),
      );
      await feedLines.waitFor((line) => line.startsWith('E ') && line.includes('[database]'));
      await proxy.open();
      await exh.waitForRecord((r) => r.event === 'mailboxes.started' && r !== started);
      const afterFilter = feedLines.lines.slice(filteredFrom);
      expect(afterFilter.length).toBeGreaterThan(0);
      expect(afterFilter.filter((line) => !line.startsWith('E '))).toEqual([]);
      feed.destroy();

      exh.child.kill('SIGTERM');
      const exit = await exh.exited;
      expect(exit.code).toBe(0);
      expect(exh.records.at(-1)?.msg).toBe('Stopped');
      expect(JSON.stringify(exh.records)).not.toContain('S3cret');
    } finally {
      exh.child.kill('SIGKILL');
      await proxy.cut();
    }
  });

  it('names a missing database as such (EXH_DB_DATABASE_NOT_FOUND, create it or correct the name), not as unreachable', async () => {
    const [logPort, listenerPort] = [await freePort(), await freePort()];
    const missing = `exh_missing_${randomBytes(4).toString('hex')}`;
    const connectionString = new URL(pgUrl as string);
    connectionString.pathname = `/${missing}`;
    connectionString.password = 'Pg-S3cret';
    const configFile = join(mkdtempSync(join(tmpdir(), 'exh-e2e-')), 'exh.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        database: { type: 'postgres', connectionString: connectionString.toString() },
        exchange: { impersonationUser: 'exh-service@contoso.test', impersonationPassword: 'exh' },
        listeners: { log: { port: logPort }, database: { port: listenerPort }, http: { port: 0 } },
        retry: { databaseIntervalMs: 300_000 },
        log: { format: 'json' },
      }),
    );
    const exh = runExh(['start', '--config', configFile]);
    try {
      const failed = await exh.waitForRecord((r) => r.event === 'database.unreachable');
      expect(failed.cat).toBe('E');
      expect((failed.error as { code?: unknown }).code).toBe('EXH_DB_DATABASE_NOT_FOUND');
      expect(failed.msg).toContain(`database "${missing}" does not exist (3D000)`);
      expect(failed.msg).toContain('Create the database');
      expect(failed.msg).toContain('exh db install');
      // Still retried (soon, then every retry.databaseIntervalMs): an operator may create it meanwhile.
      expect(failed.msg).toMatch(/\(EXH_DATABASE_CONNECTION_STRING\); next attempt in \d+ s/);
      expect(failed.msg).not.toMatch(/firewall/);
      exh.child.kill('SIGTERM');
      expect((await exh.exited).code).toBe(0);
      expect(JSON.stringify(exh.records)).not.toContain('S3cret');
    } finally {
      exh.child.kill('SIGKILL');
    }
  });

  it('notices a network that goes silent (no error, no answer), stops the mailboxes, and still stops on SIGTERM', async () => {
    const [dbPort, logPort, listenerPort] = [await freePort(), await freePort(), await freePort()];
    const server = new URL(pgUrl as string);
    const proxy = new TcpProxy(dbPort, { host: server.hostname, port: Number(server.port || 5432) });
    const configFile = join(mkdtempSync(join(tmpdir(), 'exh-e2e-')), 'exh.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        database: {
          type: 'postgres',
          connectionString: viaProxy(pgUrl as string, schema, dbPort),
          probeIntervalMs: 300,
          probeTimeoutMs: 1_000,
        },
        exchange: { impersonationUser: 'exh-service@contoso.test', impersonationPassword: 'exh' },
        listeners: { log: { port: logPort }, database: { port: listenerPort }, http: { port: 0 } },
        retry: { databaseIntervalMs: 60_000 },
        log: { format: 'json' },
      }),
    );
    await proxy.open();
    const exh = runExh(['start', '--config', configFile]);
    try {
      await exh.waitForRecord((r) => r.event === 'mailboxes.started');
      proxy.stall();
      const lost = await exh.waitForRecord((r) => r.event === 'database.lost');
      expect(lost.msg).toContain('did not answer a probe within 1 s');
      await exh.waitForRecord((r) => r.event === 'mailboxes.stopped');
      exh.child.kill('SIGTERM');
      const exit = await exh.exited;
      expect(exit.code).toBe(0);
      expect(exh.records.some((r) => r.msg === 'Did not stop within 10 s: exiting anyway')).toBe(false);
    } finally {
      exh.child.kill('SIGKILL');
      await proxy.cut();
    }
  });
});
