import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.js';
import { installBaseProject } from '../../src/db/commands.js';
import { testConfig } from '../support/config.js';
import { exhBin, runExh } from '../support/exh-process.js';
import { schemaUrl } from '../support/pg.js';
import { exh, reply } from './client-process.js';

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

  it('a stopped connector is exit status 3 (521, offline), as the database’s senders see it (docs/senders.md)', async () => {
    connector?.child.kill('SIGTERM');
    await connector?.exited;
    const ping = await exh(['send', '--config', config, '--type', 'ping']);
    expect(ping.code).toBe(3);
    expect(reply(ping.stdout).errorMessage).toMatch(/^The Exchange Connector is offline: cannot connect to/);
  }, 30_000);
});
