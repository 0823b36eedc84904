import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { installBaseProject } from '../../src/db/commands.js';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.js';
import { createExchangeBackend, type ExchangeBackend } from '../../src/exchange/create-exchange.js';
import { createLogging } from '../../src/logging/logger.js';
import { type Runtime, startRuntime } from '../../src/runtime.js';

const pgUrl = process.env.PG_URL;
const alice = 'alice@contoso.test';
const bob = 'bob@contoso.test';
const carol = 'carol@contoso.test';

function schemaUrl(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
}

/**
 * Exchange → database through every real part: the emulator speaking EWS over HTTP, the EWS adapter, the actor tree,
 * the PostgreSQL server and the example application's from_exh templates. A person's changes are made through the
 * emulator's admin API, as Outlook would make them.
 */
describe.skipIf(!pgUrl)('Exchange → database, end to end (emulator, PostgreSQL, example application)', () => {
  const schema = `exh_sync_${randomBytes(4).toString('hex')}`;
  let admin: pg.Client;
  let emulator: RunningEmulator;
  let runtime: Runtime | undefined;
  let backend: ExchangeBackend | undefined;
  const records: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    await installBaseProject(
      { type: 'postgres', connectionString: schemaUrl(pgUrl as string, schema) },
      { exampleApp: true },
    );
    await admin.query(`insert into ${schema}.app_user (exh_user) values ($1), ($2), ($3)`, [alice, bob, carol]);
    emulator = await startEmulator({ port: 0, mailboxes: [alice, bob, carol], validateResponses: true });
  });

  async function stopConnector() {
    await runtime?.stop();
    await backend?.close();
    runtime = undefined;
    backend = undefined;
  }

  afterEach(stopConnector);

  afterAll(async () => {
    await emulator?.close();
    await admin?.query(`drop schema if exists ${schema} cascade`);
    await admin?.end();
  });

  async function startConnector(notifications: 'streaming' | 'pull' | 'push' = 'streaming'): Promise<Runtime> {
    const config = configSchema.parse({
      database: { type: 'postgres', connectionString: schemaUrl(pgUrl as string, schema) },
      exchange: {
        staticEwsUrl: emulator.url,
        impersonationUser: emulator.serviceAccount,
        impersonationPassword: emulator.password,
        notifications,
      },
      listeners: { log: { enabled: false }, exchange: { host: '127.0.0.1', port: 0 } },
      log: { level: 'debug', format: 'json' },
    });
    const logging = createLogging({
      level: 'debug',
      format: 'json',
      stdout: { write: (line: string) => void records.push(JSON.parse(line)) },
    });
    backend = await createExchangeBackend(config, logging.logger);
    runtime = startRuntime({ config, logging, exchange: backend.port });
    return runtime;
  }

  async function live(users: string[]) {
    await vi.waitFor(
      () => {
        const liveUsers = new Set(records.filter((r) => r.event === 'mailbox.live').map((r) => r.user));
        for (const user of users) expect(liveUsers).toContain(user);
      },
      { timeout: 20_000, interval: 50 },
    );
  }

  const rows = async (table: string, user: string) =>
    (await admin.query(`select * from ${schema}.${table} where exh_user = $1 order by exh_item_id`, [user])).rows;

  const eventually = (check: () => Promise<void>) => vi.waitFor(check, { timeout: 15_000, interval: 100 });

  it('an appointment created, changed and deleted in Exchange appears, changes and disappears in calendar_item', async () => {
    await startConnector();
    await live([alice, bob, carol]);
    const created = emulator.admin.createItem(alice, {
      kind: 'CalendarItem',
      Subject: 'Sprint review',
      Location: 'Room 1',
      Start: '2026-12-01T09:00:00Z',
      End: '2026-12-01T10:00:00Z',
    });
    const id = created?.id as string;
    await eventually(async () => {
      expect(await rows('calendar_item', alice)).toEqual([
        expect.objectContaining({ exh_item_id: id, exh_subject: 'Sprint review', exh_location: 'Room 1' }),
      ]);
    });
    // Location removed in Exchange: '' reaches the template, and the example application stores a cleared column as NULL.
    emulator.admin.updateItem(alice, id, { Subject: 'Sprint review (moved)', Location: null });
    await eventually(async () => {
      expect(await rows('calendar_item', alice)).toEqual([
        expect.objectContaining({ exh_item_id: id, exh_subject: 'Sprint review (moved)', exh_location: null }),
      ]);
    });
    emulator.admin.deleteItem(alice, id);
    await eventually(async () => expect(await rows('calendar_item', alice)).toEqual([]));
  });

  it('contacts, tasks and e-mail (incoming and outgoing) reach their tables', async () => {
    await startConnector();
    await live([alice, bob, carol]);
    const contact = emulator.admin.createItem(bob, {
      kind: 'Contact',
      GivenName: 'Dana',
      Surname: 'Scully',
      CompanyName: 'FBI',
      EmailAddresses: { EmailAddress1: 'dana@fbi.test' },
      PhoneNumbers: { MobilePhone: '+1 555 0100' },
    });
    const task = emulator.admin.createItem(bob, { kind: 'Task', Subject: 'File report', PercentComplete: 50 });
    emulator.admin.createItem(alice, {
      kind: 'Message',
      send: true,
      Subject: 'Hello Bob',
      Body: 'See you at 10.',
      ToRecipients: [bob],
    });
    await eventually(async () => {
      expect(await rows('contact_item', bob)).toEqual([
        expect.objectContaining({
          exh_item_id: contact?.id,
          exh_given_name: 'Dana',
          exh_surname: 'Scully',
          exh_company: 'FBI',
          exh_email_1: 'dana@fbi.test',
          exh_mobile_phone: '+1 555 0100',
        }),
      ]);
      expect(await rows('task_item', bob)).toEqual([
        expect.objectContaining({ exh_item_id: task?.id, exh_subject: 'File report', exh_percent_complete: 50 }),
      ]);
      expect(await rows('email_item', alice)).toEqual([
        expect.objectContaining({ exh_subject: 'Hello Bob', exh_direction: 'outgoing', exh_folder: 'Sent Items' }),
      ]);
      expect(await rows('email_item', bob)).toEqual([
        expect.objectContaining({ exh_subject: 'Hello Bob', exh_direction: 'incoming', exh_folder: 'Inbox' }),
      ]);
    });
  });

  it('a meeting lands in the organizer’s and both attendees’ rows, each under its own exh_user', async () => {
    await startConnector();
    await live([alice, bob, carol]);
    emulator.admin.createItem(alice, {
      kind: 'CalendarItem',
      Subject: 'Architecture board',
      Start: '2026-12-02T13:00:00Z',
      End: '2026-12-02T14:00:00Z',
      RequiredAttendees: [bob],
      OptionalAttendees: [carol],
    });
    await eventually(async () => {
      for (const user of [alice, bob, carol]) {
        expect((await rows('calendar_item', user)).map((r) => r.exh_subject)).toContain('Architecture board');
      }
    });
  });

  it('catches up after the connector was stopped: nothing made meanwhile is lost, nothing is doubled', async () => {
    await startConnector();
    await live([alice, bob, carol]);
    await stopConnector();
    const made = emulator.admin.createItem(carol, { kind: 'Task', Subject: 'While nobody watched' });
    await startConnector();
    await eventually(async () => {
      expect((await rows('task_item', carol)).filter((r) => r.exh_item_id === made?.id)).toHaveLength(1);
    });
  });
});
