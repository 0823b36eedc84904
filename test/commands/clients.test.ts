import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.js';
import { progressBar, progressLine } from '../../src/commands/sync.js';
import { installBaseProject } from '../../src/db/commands.js';
import { createLogging } from '../../src/logging/logger.js';
import { type DatabaseListener, startDatabaseListener } from '../../src/protocol/listener.js';
import type { DatabaseRequest } from '../../src/protocol/messages.js';
import { failure, ok } from '../../src/protocol/replies.js';
import { testConfig } from '../support/config.js';
import { exhBin, runExh } from '../support/exh-process.js';
import { schemaUrl } from '../support/pg.js';

/** `exh …` run to its end; stdout kept as bytes (an attachment may be anything). */
function exh(args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [exhBin, ...args],
      { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: unknown }).code ?? 1) : 0;
        resolve({ code, stdout, stderr: stderr.toString('utf8') });
      },
    );
  });
}

const reply = (stdout: Buffer) => JSON.parse(stdout.toString('utf8'));

describe('client exit statuses against a database listener (0, 1, 521, 522 → 0, 1, 3, 4; usage → 2)', () => {
  const token = 'a-token-for-the-exit-status-test';
  const received: DatabaseRequest[] = [];
  let listener: DatabaseListener;
  const flags = () => ['--host', '127.0.0.1', '--port', String(listener.address.port), '--token', token];

  beforeAll(async () => {
    // The real listener (framing, token, validation) with a handler that answers by the user's name.
    listener = await startDatabaseListener({
      host: '127.0.0.1',
      port: 0,
      token,
      logger: createLogging({ stdout: { write: () => {} } }).logger,
      handle: async (request) => {
        received.push(request);
        const user = 'user' in request ? request.user : null;
        if (user === 'exchange-down@x.test') return failure('Exchange at https://ex/ is not available', 522);
        if (user === 'offline@x.test') return failure('The Exchange Connector is offline: stopping', 521);
        if (user === 'refused@x.test') return failure('Only the organizer may change an appointment', 1);
        return ok(request.type === 'ping' ? 'pong' : 'AAMkNew=');
      },
    });
  });
  afterAll(() => listener?.close());

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

  it("turns the sync-items flags into the seed's exh_sync_item parameters", async () => {
    received.length = 0;
    const items = await exh([
      'sync-items',
      '--user',
      'ann@x.test',
      '--type',
      'email',
      '--direction',
      '1',
      '--no-del',
      '--from',
      '2026-01-01',
      '--start-until',
      '2026-02-01T00:00:00Z',
      ...flags(),
    ]);
    expect(items.code).toBe(0);
    expect(received).toEqual([
      {
        type: 'syncItems',
        direction: 1,
        user: 'ann@x.test',
        item: 2,
        add: true,
        chg: true,
        del: false,
        createdFrom: null,
        createdUntil: null,
        modifiedFrom: '2026-01-01',
        modifiedUntil: null,
        receivedFrom: null,
        receivedUntil: null,
        startFrom: null,
        startUntil: '2026-02-01T00:00:00Z',
        // Always asked for: the progress lines (and their heartbeat) keep the time-out from ending a long resync.
        progress: true,
      },
    ]);
    // Neither --del nor --no-del: the connector's default (deletions for direction 0 only) is left to it.
    received.length = 0;
    expect((await exh(['sync-items', '--user', 'ann@x.test', '--direction', '1', ...flags()])).code).toBe(0);
    expect(received[0]).not.toHaveProperty('del');
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

describe('the progress bar of exh sync-items', () => {
  it('draws done of total, or a count while the total is unknown, on one line rewritten in place', () => {
    expect(progressLine({ user: 'a@x.test', itemType: 'task', done: 5, total: 10 }, 80)).toBe(
      `a@x.test task [${'#'.repeat(20)}${'.'.repeat(20)}] 5/10`,
    );
    expect(progressLine({ user: 'a@x.test', itemType: 'email', done: 7, total: null }, 80)).toBe(
      'a@x.test email: 7 items',
    );
    const written: string[] = [];
    const bar = progressBar({ write: (text: string) => written.push(text), columns: 80 });
    bar.update({ user: 'a', itemType: 'task', done: 1, total: 2 });
    bar.end();
    expect(written[0]?.startsWith('\r\u001b[2K')).toBe(true);
    expect(written[0]).toMatch(/a task \[#+\.+\] 1\/2$/);
    expect(written[1]).toBe('\n');
  });

  it('leaves a finished line per user and type standing when the next one starts', () => {
    let screen = '';
    const bar = progressBar({ write: (text: string) => (screen += text), columns: 80 });
    bar.update({ user: 'a', itemType: 'task', done: 1, total: null });
    bar.update({ user: 'a', itemType: 'task', done: 3, total: null });
    bar.update({ user: 'a', itemType: 'email', done: 2, total: 4 });
    bar.update({ user: 'a', itemType: 'email', done: 4, total: 4 });
    bar.update({ user: 'b', itemType: 'task', done: 0, total: null });
    bar.end();
    // What a terminal shows: each line as its last rewrite left it.
    const lines = screen.split('\n').map((line) => line.split('\r\u001b[2K').at(-1));
    expect(lines).toEqual(['a task: 3 items', `a email [${'#'.repeat(40)}] 4/4`, 'b task: 0 items', '']);
  });
});

const pgUrl = process.env.PG_URL;
const alice = 'alice@contoso.test';
const bob = 'bob@contoso.test';

/** The clients against the real connector (`exh start`), found through exh_set_up in the configured database. */
describe.skipIf(!pgUrl)('exh send, sync-users, sync-items and attachment get against exh start (PG_URL)', () => {
  const schema = `exh_clients_${randomBytes(4).toString('hex')}`;
  let admin: pg.Client;
  let emulator: RunningEmulator;
  let connector: ReturnType<typeof runExh> | undefined;
  let config: string;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    const connectionString = schemaUrl(pgUrl as string, schema);
    await installBaseProject({ type: 'postgres', connectionString }, { exampleApp: true });
    await admin.query(`insert into ${schema}.app_user (exh_user) values ($1), ($2)`, [alice, bob]);
    emulator = await startEmulator({ port: 0, mailboxes: [alice, bob] });
    config = join(mkdtempSync(join(tmpdir(), 'exh-clients-')), 'exh.config.json');
    writeFileSync(config, JSON.stringify(testConfig(emulator, { type: 'postgres', connectionString })));
    connector = runExh(['start', '--config', config]);
    for (const user of [alice, bob]) {
      await connector.waitForRecord((r) => r.event === 'mailbox.live' && r.user === user, 30_000);
    }
  }, 90_000);

  afterAll(async () => {
    if (connector && connector.child.exitCode === null) {
      connector.child.kill('SIGTERM');
      await connector.exited;
    }
    await emulator?.close();
    await admin?.query(`drop schema if exists ${schema} cascade`);
    await admin?.end();
  });

  it('exh send adds a task in the mailbox and prints its item id', async () => {
    const sent = await exh([
      'send',
      '--config',
      config,
      '--action',
      'add',
      '--item-type',
      'task',
      '--user',
      alice,
      '--fields',
      '{"app_item_id":"cli-1","subject":"Sent from the command line"}',
    ]);
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    const itemId = reply(sent.stdout).outputValue as string;
    expect(emulator.admin.item(alice, itemId).properties.Subject).toBe('Sent from the command line');

    const missing = await exh([
      'send',
      '--config',
      config,
      '--action',
      'chg',
      '--item-type',
      'task',
      '--user',
      alice,
      '--fields',
      '{"item_id":"AAMkAGNvbnRvc28=","subject":"gone"}',
    ]);
    expect(missing.code).toBe(1);
    expect(reply(missing.stdout).exitCode).toBe(1);
  }, 60_000);

  it('exh sync-users and exh sync-items answer 0; sync-items reports what it did', async () => {
    const users = await exh(['sync-users', '--config', config]);
    expect([users.code, reply(users.stdout)]).toEqual([0, { exitCode: 0, outputValue: null, errorMessage: null }]);

    emulator.admin.createItem(bob, { kind: 'Task', Subject: 'Resynchronised' });
    const items = await exh([
      'sync-items',
      '--config',
      config,
      '--user',
      bob,
      '--type',
      'task',
      '--direction',
      '0',
      '--from',
      '2000-01-01',
    ]);
    expect(items.stderr).toBe('');
    expect(items.code).toBe(0);
    const outcome = JSON.parse(reply(items.stdout).outputValue);
    expect(outcome).toEqual(expect.objectContaining({ failed: 0 }));
    const { rows } = await admin.query(`select exh_subject from ${schema}.task_item where exh_user = $1`, [bob]);
    expect(rows.map((r) => r.exh_subject)).toContain('Resynchronised');
  }, 60_000);

  it('exh sync-items draws its progress bar on a terminal (script gives it one)', async () => {
    emulator.admin.createItem(bob, { kind: 'Task', Subject: 'Counted' });
    const command = [process.execPath, exhBin, 'sync-items', '--config', config, '--user', bob, '--type', 'task']
      .map((word) => `'${word}'`)
      .join(' ');
    const onTerminal = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile('script', ['-qec', command, '/dev/null'], { encoding: 'utf8' }, (error, stdout) =>
        resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, output: stdout }),
      );
    });
    expect(onTerminal.code).toBe(0);
    // Direction 0 reads Exchange page by page, total unknown: a count, rewritten in place, then left standing on
    // its own line before the reply.
    const line = new RegExp(`\\r\\u001b\\[2K${bob.replace('.', '\\.')} task: (\\d+) items\\r?\\n`);
    const finished = line.exec(onTerminal.output);
    expect(finished, onTerminal.output).not.toBeNull();
    expect(Number(finished?.[1])).toBeGreaterThan(0);
    expect(onTerminal.output.slice((finished?.index ?? 0) + (finished?.[0].length ?? 0))).toMatch(/"exitCode":0/);
  }, 60_000);

  it('exh attachment get writes the bytes to a file and to stdout, byte for byte', async () => {
    const bytes = randomBytes(3000);
    const item = emulator.admin.createItem(alice, {
      kind: 'Task',
      Subject: 'With a file',
      Attachments: [{ Name: 'data.bin', ContentType: 'application/octet-stream', Content: bytes.toString('base64') }],
    });
    const attachmentId = item?.attachments[0]?.id as string;
    const out = join(mkdtempSync(join(tmpdir(), 'exh-attachment-')), 'data.bin');
    const ids = ['--user', alice, '--item-id', item?.id as string, '--attachment-id', attachmentId];
    const toFile = await exh(['attachment', 'get', '--config', config, ...ids, '--out', out]);
    expect(toFile.code).toBe(0);
    expect(toFile.stderr).toContain(`Wrote 3000 bytes to ${out}`);
    expect(readFileSync(out).equals(bytes)).toBe(true);
    const toStdout = await exh(['attachment', 'get', '--config', config, ...ids]);
    expect(toStdout.code).toBe(0);
    expect(toStdout.stdout.equals(bytes)).toBe(true);
  }, 60_000);

  it('a stopped connector is exit status 3 (521, offline), as the seed’s senders see it', async () => {
    connector?.child.kill('SIGTERM');
    await connector?.exited;
    const ping = await exh(['send', '--config', config, '--type', 'ping']);
    expect(ping.code).toBe(3);
    expect(reply(ping.stdout).errorMessage).toMatch(/^The Exchange Connector is offline: cannot connect to/);
  }, 30_000);
});

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
