import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LiveConnector, startLiveConnector } from './live-connector.js';
import { closedPort, hasTool, replyOf, run, sendersDir } from './tools.js';

const pgUrl = process.env.PG_URL;
const bob = 'bob@contoso.test';
const testFile = 'test/senders/db2-java.test.ts';
if (!pgUrl) console.warn(`${testFile} skipped: PG_URL is not set`);
const tools = Boolean(pgUrl) && hasTool('javac', ['-version'], testFile, 'openjdk-17-jdk-headless');

/**
 * The DB2 Java stored procedure (senders/db2/ExhSender.java) against a live connector: compiled with javac for the
 * oldest release JDK 17 offers (7; the source itself keeps to Java 6), run with java through its main(), which calls
 * the same PARAMETER STYLE JAVA methods DB2 calls, given the connector's address and token directly.
 */
describe.skipIf(!tools)('DB2 Java sender against a live connector', () => {
  let live: LiveConnector;
  let classes: string;
  const java = (...args: string[]) => run('java', ['-cp', classes, 'ExhSender', ...args]);

  beforeAll(async () => {
    classes = await mkdtemp(join(tmpdir(), 'exh-java-'));
    // JDK 17's oldest release is 7 (6 went with JDK 12; from JDK 20 on it is 8): the compiler checks that API, the
    // Java 6 syntax rules are checked on the source below.
    const source = join(sendersDir, 'db2/ExhSender.java');
    const compile = (release: string) =>
      run('javac', ['--release', release, '-Xlint:all,-options', '-Werror', '-d', classes, source]);
    let compiled = await compile('7');
    if (/release version 7 not supported/.test(compiled.stderr)) compiled = await compile('8');
    expect(compiled.stderr).toBe('');
    expect(compiled.code).toBe(0);
    live = await startLiveConnector(pgUrl as string, { users: [bob] });
  });
  afterAll(async () => {
    await live?.close();
    if (classes) await rm(classes, { recursive: true, force: true });
  });

  it('keeps to Java 6: no diamond, try-with-resources, lambdas, multi-catch, switch on strings or java.nio.file', async () => {
    const source = await readFile(join(sendersDir, 'db2/ExhSender.java'), 'utf8');
    const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    expect(code).not.toMatch(/new \w+(\.\w+)*<>/);
    expect(code).not.toMatch(/\btry\s*\(/);
    expect(code).not.toMatch(/->|::/);
    expect(code).not.toMatch(/catch\s*\([^)]*\|/);
    expect(code).not.toMatch(/switch\s*\(\s*(kind|procedure|name)\b/);
    expect(code).not.toMatch(/java\.nio\.file|java\.util\.Base64|java\.util\.function|java\.util\.Objects/);
  });

  it('item add comes back with the Exchange item id and the item is in the mailbox', async () => {
    await live.start();
    const setUp = await live.setUp();
    // The payload as DB2's exh_to_exh_add_* builds it (JSON_OBJECT of its parameters, a CLOB; DB2 timestamps).
    const payload = JSON.stringify({
      EXH_APP_ITEM_ID: 'java-meeting-1',
      EXH_USER: bob,
      EXH_SUBJECT: 'Größe "quoted"\nsecond line',
      EXH_LOCATION: 'Room 3',
      EXH_START: '2026-12-01-09.00.00.000000',
      EXH_END: '2026-12-01-10.30.00.000000',
      EXH_BODY: null,
    });
    const args = [setUp.exh_ip_address, setUp.exh_ip_address_port, setUp.exh_listener_token];
    const added = replyOf(await java(...(args as string[]), 'sendItem', 'add', 'calendar', bob, payload));
    expect(added).toEqual({ exitCode: 0, outputValue: expect.any(String), errorMessage: null });
    const item = live.emulator.admin.item(bob, added.outputValue as string);
    expect(item.properties).toMatchObject({ Subject: 'Größe "quoted"\nsecond line', Location: 'Room 3' });
    expect(new Date(String(item.properties.Start)).toISOString()).toBe('2026-12-01T09:00:00.000Z');

    const changed = replyOf(
      await java(
        ...(args as string[]),
        'itemChg',
        'calendar',
        bob,
        JSON.stringify({ exh_item_id: added.outputValue, exh_subject: 'Renamed', exh_location: null }),
      ),
    );
    expect(changed.exitCode).toBe(0);
    expect(live.emulator.admin.item(bob, added.outputValue as string).properties).toMatchObject({
      Subject: 'Renamed',
      Location: 'Room 3',
    });

    const deleted = replyOf(
      await java(...(args as string[]), 'itemDel', 'calendar', bob, JSON.stringify({ exh_item_id: added.outputValue })),
    );
    expect(deleted.exitCode).toBe(0);
    expect(live.emulator.admin.items(bob).filter((i) => i.id === added.outputValue)).toEqual([]);

    const pong = replyOf(await java(...(args as string[]), 'send', '{"type":"ping"}'));
    expect(pong).toEqual({ exitCode: 0, outputValue: 'pong', errorMessage: null });
  });

  it("get attachment returns the attachment's bytes unchanged (base64, and decoded as for the BLOB)", async () => {
    await live.start();
    const setUp = await live.setUp();
    const args = [setUp.exh_ip_address, setUp.exh_ip_address_port, setUp.exh_listener_token] as string[];
    for (const size of [0, 1, 2, 3, 4099]) {
      const bytes = randomBytes(size);
      const item = live.emulator.admin.createItem(bob, {
        kind: 'Task',
        Subject: `File of ${size} bytes`,
        Attachments: [{ Name: 'data.bin', Content: bytes.toString('base64') }],
      });
      const ids = [bob, item?.id as string, item?.attachments[0]?.id as string];
      const base64 = replyOf(await java(...args, 'getAttachment', ...ids));
      expect(base64.exitCode, `${size} bytes`).toBe(0);
      expect(Buffer.from(base64.outputValue ?? '', 'base64').equals(bytes), `${size} bytes`).toBe(true);
      const decoded = replyOf(await java(...args, 'getAttachmentDecoded', ...ids));
      expect(decoded.outputValue, `${size} bytes`).toBe(bytes.toString('hex'));
    }
  });

  it('sync users and sync item reach the connector (payloads as exh_sync_item builds them)', async () => {
    await live.start();
    const setUp = await live.setUp();
    const args = [setUp.exh_ip_address, setUp.exh_ip_address_port, setUp.exh_listener_token] as string[];
    expect(replyOf(await java(...args, 'syncUsers'))).toMatchObject({ exitCode: 0, errorMessage: null });
    const payload = JSON.stringify({
      EXH_SYNC_DIRECTION: 0,
      EXH_USER: bob,
      EXH_ITEM: 3,
      EXH_ADD: 1,
      EXH_CHG: 1,
      EXH_DEL: 0,
      EXH_CREATED_FROM: '2026-01-01-00.00.00.000000',
      EXH_CREATED_UNTIL: null,
    });
    expect(replyOf(await java(...args, 'syncItem', payload))).toMatchObject({ exitCode: 0, errorMessage: null });
  });

  it('a wrong token gets exit code 1 and changes nothing', async () => {
    await live.start();
    const setUp = await live.setUp();
    const reply = replyOf(
      await java(
        setUp.exh_ip_address as string,
        setUp.exh_ip_address_port as string,
        'not-the-token',
        'itemAdd',
        'task',
        bob,
        JSON.stringify({ exh_app_item_id: 'java-task-refused', exh_subject: 'Refused' }),
      ),
    );
    expect(reply.exitCode).toBe(1);
    expect(reply.errorMessage).toMatch(/unauthenticated/);
    expect(live.emulator.admin.items(bob).filter((i) => i.properties.Subject === 'Refused')).toEqual([]);
  });

  it('a connector that is down gets exit code 521', async () => {
    await live.start();
    const setUp = await live.setUp();
    await live.stop();
    const reply = replyOf(
      await java(
        setUp.exh_ip_address as string,
        setUp.exh_ip_address_port as string,
        setUp.exh_listener_token as string,
        'itemAdd',
        'task',
        bob,
        JSON.stringify({ exh_app_item_id: 'java-task-offline', exh_subject: 'Offline' }),
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
    // The "At" methods take exh_ip_addresses after the host, as targetFromSetUp reads it from exh_set_up.
    const others = `127.0.0.1:${deadA}, [::1]:${deadB},${setUp.exh_ip_address}:${setUp.exh_ip_address_port}`;
    const reached = replyOf(await java(`127.0.0.1,${others}`, deadA, token, 'send', '{"type":"ping"}'));
    expect(reached).toEqual({ exitCode: 0, outputValue: 'pong', errorMessage: null });

    const none = replyOf(await java(`127.0.0.1,127.0.0.1:${deadB}`, deadA, token, 'send', '{"type":"ping"}'));
    expect(none.exitCode).toBe(521);
    expect(none.errorMessage).toMatch(
      new RegExp(
        `^The Exchange Connector is offline: no instance accepted the connection: cannot connect to 127\\.0\\.0\\.1:${deadA} \\(.*\\); cannot connect to 127\\.0\\.0\\.1:${deadB} \\(.*\\)\\.$`,
      ),
    );
  });

  it('a payload that is not JSON is exit code 1, not an exception in DB2', async () => {
    const reply = replyOf(await java('127.0.0.1', '9', 'token', 'itemAdd', 'task', bob, '{"exh_subject": '));
    expect(reply.exitCode).toBe(1);
    expect(reply.errorMessage).toMatch(/invalid JSON/);
  });
});
