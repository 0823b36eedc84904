import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { installBaseProject } from '../../src/db/commands.js';
import { failure, ok } from '../../src/protocol/replies.js';
import { exh, reply, useDatabaseListener } from './client-process.js';

/**
 * What every client command shares (src/commands/send.ts): finding the listener, sending, and the exit status that
 * follows the reply; `exh send` itself. Against exh start: test/commands/clients.test.ts.
 */
describe('client exit statuses against a database listener (0, 1, 521, 522 → 0, 1, 3, 4; usage → 2)', () => {
  // A listener that answers by the user's name.
  const { flags } = useDatabaseListener('a-token-for-the-exit-status-test', (request) => {
    const user = 'user' in request ? request.user : null;
    if (user === 'exchange-down@x.test') return failure('Exchange at https://ex/ is not available', 522);
    if (user === 'offline@x.test') return failure('The Exchange Connector is offline: stopping', 521);
    if (user === 'refused@x.test') return failure('Only the organizer may change an appointment', 1);
    return ok(request.type === 'ping' ? 'pong' : 'AAMkNew=');
  });

  const send = (user: string) => [
    'send',
    '--type',
    'item',
    '--action',
    'add',
    '--item-type',
    'task',
    '--user',
    user,
    '--fields',
    '{"app_item_id":"1","subject":"x"}',
  ];

  it('maps each reply exit code to its exit status and prints the reply', async () => {
    const done = await exh([...send('ok@x.test'), ...flags()]);
    expect([done.code, reply(done.stdout)]).toEqual([0, { exitCode: 0, outputValue: 'AAMkNew=', errorMessage: null }]);
    const refused = await exh([...send('refused@x.test'), ...flags()]);
    expect([refused.code, reply(refused.stdout).exitCode]).toEqual([1, 1]);
    expect(refused.stderr).toContain('Only the organizer may change an appointment');
    const offline = await exh([...send('offline@x.test'), ...flags()]);
    expect([offline.code, reply(offline.stdout).exitCode]).toEqual([3, 521]);
    const exchangeDown = await exh([...send('exchange-down@x.test'), ...flags()]);
    expect([exchangeDown.code, reply(exchangeDown.stdout).exitCode]).toEqual([4, 522]);
  }, 60_000);

  it('sends a whole request given with --json, and a wrong token is refused (1)', async () => {
    const ping = await exh(['send', '--json', '{"type":"ping"}', ...flags()]);
    expect([ping.code, reply(ping.stdout).outputValue]).toEqual([0, 'pong']);
    const wrong = await exh(['send', '--json', '{"type":"ping"}', ...flags().slice(0, 4), '--token', 'x'.repeat(32)]);
    expect(wrong.code).toBe(1);
    expect(reply(wrong.stdout).errorMessage).toMatch(/^Request refused: unauthenticated/);
  }, 30_000);

  it('refuses bad flags before connecting, with exit status 2 and what is wrong', async () => {
    const noFields = await exh(['send', '--action', 'add', '--item-type', 'task', '--user', 'a@x.test', ...flags()]);
    expect(noFields.code).toBe(2);
    expect(noFields.stderr).toContain('--type item needs --fields');
    const invalid = await exh([...send('a@x.test').slice(0, -1), '{"subject":"x"}', ...flags()]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('the request is not valid: fields.app_item_id: required for add');
    const notJson = await exh(['send', '--json', '{type:', ...flags()]);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toContain('--json is not JSON');
    const badDate = await exh(['sync-items', '--from', 'yesterday', ...flags()]);
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toContain('expected a date YYYY-MM-DD');
    const noIds = await exh(['attachment', 'get', '--user', 'a@x.test', ...flags()]);
    expect(noIds.code).toBe(2);
    expect(noIds.stderr).toContain("required option '--item-id <id>' not specified");
  }, 60_000);
});

describe('several instances: exh_ip_addresses', () => {
  const token = 'a-token-for-the-several-instances-test';
  const { received, flags } = useDatabaseListener(token, () => ok('pong'));

  it('tries the other instances of exh_ip_addresses in turn when exh_ip_address does not accept the connection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'exh-clients-'));
    const dataDir = join(dir, 'data');
    await installBaseProject({ type: 'pglite', dataDir });
    const live = Number(flags()[3]);
    const dead = await closedPort();
    const { createDatabase } = await import('../../src/db/create-database.js');
    const db = createDatabase({ type: 'pglite', dataDir });
    await db.connect();
    await db.writeSetUp({
      ipAddress: '127.0.0.1',
      port: dead,
      token,
      addresses: [`127.0.0.1:${dead}`, `127.0.0.1:${await closedPort()}`, `127.0.0.1:${live}`],
    });
    await db.close();
    const config = join(dir, 'exh.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        database: { type: 'pglite', dataDir },
        exchange: { impersonationUser: 'svc@x.test', impersonationPassword: 'pw' },
      }),
    );
    const before = received.length;
    const ping = await exh(['send', '--type', 'ping', '--config', config]);
    expect([ping.code, reply(ping.stdout)]).toEqual([0, { exitCode: 0, outputValue: 'pong', errorMessage: null }]);
    expect(received.length).toBe(before + 1);

    // --host/--port name one listener: only that one.
    const named = await exh(['send', '--type', 'ping', '--config', config, '--host', '127.0.0.1', '--port', `${dead}`]);
    expect([named.code, reply(named.stdout).exitCode]).toEqual([3, 521]);
    expect(received.length).toBe(before + 1);
  }, 60_000);
});

/** A port nothing listens on (taken and let go). */
async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('finding the listener', () => {
  it('says so (exit 3) when exh_set_up has no listener yet, and exit 2 without a configuration', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'exh-clients-'));
    const dataDir = join(dir, 'data');
    await installBaseProject({ type: 'pglite', dataDir });
    const config = join(dir, 'exh.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        database: { type: 'pglite', dataDir },
        exchange: { impersonationUser: 'svc@x.test', impersonationPassword: 'pw' },
      }),
    );
    const never = await exh(['sync-users', '--config', config]);
    expect(never.code).toBe(3);
    expect(never.stderr).toMatch(
      /EXH_DB_SET_UP_MISSING: exh_set_up in pglite:.* has no exh_ip_address, exh_ip_address_port, exh_listener_token/,
    );
    const noConfig = await exh(['sync-users', '--config', join(dir, 'missing.json')]);
    expect(noConfig.code).toBe(2);
    expect(noConfig.stderr).toContain('EXH_CONFIG_NOT_FOUND');
  }, 60_000);
});
