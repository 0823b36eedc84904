import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LiveConnector, startLiveConnector } from './live-connector.js';
import { closedPort, hasTool, replyOf, run, sendersDir } from './tools.js';

const pgUrl = process.env.PG_URL;
const carol = 'carol@contoso.test';
const testFile = 'test/senders/sqlserver-clr.test.ts';
if (!pgUrl) console.warn(`${testFile} skipped: PG_URL is not set`);
const tools =
  Boolean(pgUrl) &&
  hasTool('mcs', ['--version'], testFile, 'mono-mcs') &&
  hasTool('mono', ['--version'], testFile, 'mono-runtime');

/**
 * The SQL Server CLR sender (senders/sqlserver/ExhSender.cs) against a live connector. Mono's System.Data has
 * Microsoft.SqlServer.Server and System.Data.SqlTypes, so the assembly SQL Server loads compiles as it is; only the
 * context connection (exh_set_up inside SQL Server) does not exist outside SQL Server, so the harness
 * (ExhSenderCli.cs) calls the same procedures in their "At" form, given the connector directly.
 */
describe.skipIf(!tools)('SQL Server CLR sender against a live connector', () => {
  let live: LiveConnector;
  let out: string;
  let args: string[];
  const sender = (...rest: string[]) => run('mono', [join(out, 'exh-sender.exe'), ...rest]);
  const source = (name: string) => join(sendersDir, 'sqlserver', name);

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'exh-clr-'));
    // The assembly SQL Server loads: the sender alone, as a library.
    const library = await run('mcs', [
      '-target:library',
      '-r:System.Data',
      '-warnaserror',
      `-out:${join(out, 'ExhSender.dll')}`,
      source('ExhSender.cs'),
    ]);
    expect(library.stdout + library.stderr).not.toMatch(/error/);
    expect(library.code).toBe(0);
    const harness = await run('mcs', [
      '-r:System.Data',
      '-warnaserror',
      `-out:${join(out, 'exh-sender.exe')}`,
      source('ExhSender.cs'),
      source('ExhSenderCli.cs'),
    ]);
    expect(harness.code).toBe(0);
    live = await startLiveConnector(pgUrl as string, { users: [carol] });
  });
  afterAll(async () => {
    await live?.close();
    if (out) await rm(out, { recursive: true, force: true });
  });

  async function started() {
    await live.start();
    const setUp = await live.setUp();
    args = [setUp.exh_ip_address as string, setUp.exh_ip_address_port as string, setUp.exh_listener_token as string];
    return setUp;
  }

  it('item add comes back with the Exchange item id and the item is in the mailbox', async () => {
    await started();
    // The payload as SQL Server's exh_to_exh_add_* builds it (FOR JSON PATH, INCLUDE_NULL_VALUES; true/false bits).
    const payload = JSON.stringify({
      exh_app_item_id: 'clr-task-1',
      exh_user: carol,
      exh_subject: 'Überweisung "Q4" \\ done',
      exh_percent_complete: 40,
      exh_reminder_set: false,
      exh_due: '2026-12-24T17:00:00+01:00',
      exh_body: null,
    });
    const added = replyOf(await sender(...args, 'item', 'add', 'task', carol, payload));
    expect(added).toEqual({ exitCode: 0, outputValue: expect.any(String), errorMessage: null });
    expect(live.emulator.admin.item(carol, added.outputValue as string).properties).toMatchObject({
      Subject: 'Überweisung "Q4" \\ done',
      PercentComplete: '40',
    });

    const changed = replyOf(
      await sender(
        ...args,
        'item',
        'chg',
        'task',
        carol,
        JSON.stringify({ exh_item_id: added.outputValue, exh_percent_complete: 100, exh_subject: null }),
      ),
    );
    expect(changed.exitCode).toBe(0);
    expect(live.emulator.admin.item(carol, added.outputValue as string).properties).toMatchObject({
      Subject: 'Überweisung "Q4" \\ done',
      PercentComplete: '100',
    });

    const deleted = replyOf(
      await sender(...args, 'item', 'del', 'task', carol, JSON.stringify({ exh_item_id: added.outputValue })),
    );
    expect(deleted.exitCode).toBe(0);
    expect(live.emulator.admin.items(carol).filter((i) => i.id === added.outputValue)).toEqual([]);
  });

  it("sendGetAttachment returns the attachment's bytes unchanged", async () => {
    await started();
    const bytes = randomBytes(5000);
    const item = live.emulator.admin.createItem(carol, {
      kind: 'Task',
      Subject: 'With a file',
      Attachments: [{ Name: 'data.bin', ContentType: 'application/octet-stream', Content: bytes.toString('base64') }],
    });
    const attachment = item?.attachments[0];
    const reply = replyOf(await sender(...args, 'getAttachment', carol, item?.id as string, attachment?.id as string));
    expect(reply.exitCode).toBe(0);
    expect(Buffer.from(reply.outputValue as string, 'base64').equals(bytes)).toBe(true);
  });

  it('sync users and sync item reach the connector (payloads as FOR JSON builds them)', async () => {
    await started();
    expect(replyOf(await sender(...args, 'syncUsers'))).toMatchObject({ exitCode: 0, errorMessage: null });
    const payload = JSON.stringify({
      exh_sync_direction: 0,
      exh_user: carol,
      exh_item: 3,
      exh_add: true,
      exh_chg: true,
      exh_del: false,
      exh_modified_from: '2026-01-01T00:00:00+01:00',
      exh_modified_until: null,
    });
    expect(replyOf(await sender(...args, 'syncItem', payload))).toMatchObject({ exitCode: 0, errorMessage: null });
  });

  it('a wrong token gets exit code 1 and changes nothing', async () => {
    await started();
    const reply = replyOf(
      await sender(
        args[0] as string,
        args[1] as string,
        'not-the-token',
        'item',
        'add',
        'task',
        carol,
        JSON.stringify({ exh_app_item_id: 'clr-refused', exh_subject: 'Refused' }),
      ),
    );
    expect(reply.exitCode).toBe(1);
    expect(reply.errorMessage).toMatch(/unauthenticated/);
    expect(live.emulator.admin.items(carol).filter((i) => i.properties.Subject === 'Refused')).toEqual([]);
  });

  it('a connector that is down gets exit code 521', async () => {
    await started();
    await live.stop();
    const reply = replyOf(
      await sender(
        ...args,
        'item',
        'add',
        'task',
        carol,
        JSON.stringify({ exh_app_item_id: 'clr-offline', exh_subject: 'Offline' }),
      ),
    );
    expect(reply.exitCode).toBe(521);
    expect(reply.errorMessage).toMatch(/^The Exchange Connector is offline: cannot connect to /);
  });
  it('several instances: when its listener does not accept the connection, the next of exh_ip_addresses is tried', async () => {
    await live.start();
    const setUp = await live.setUp();
    const [deadA, deadB] = [String(await closedPort()), String(await closedPort())];
    const token = setUp.exh_listener_token as string;
    // The "At" procedures take exh_ip_addresses after the host, as ReadSetUp reads it from exh_set_up.
    const others = `127.0.0.1:${deadA}, [::1]:${deadB},${setUp.exh_ip_address}:${setUp.exh_ip_address_port}`;
    const reached = replyOf(await sender(`127.0.0.1,${others}`, deadA, token, 'send', '{"type":"ping"}'));
    expect(reached).toEqual({ exitCode: 0, outputValue: 'pong', errorMessage: null });

    const none = replyOf(await sender(`127.0.0.1,127.0.0.1:${deadB}`, deadA, token, 'send', '{"type":"ping"}'));
    expect(none.exitCode).toBe(521);
    expect(none.errorMessage).toMatch(
      new RegExp(
        `^The Exchange Connector is offline: no instance accepted the connection: cannot connect to 127\\.0\\.0\\.1:${deadA} \\(.*\\); cannot connect to 127\\.0\\.0\\.1:${deadB} \\(.*\\)\\.$`,
      ),
    );
  });
});
