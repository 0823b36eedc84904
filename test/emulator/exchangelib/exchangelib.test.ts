import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { versions } from '../../../emulator/soap/envelope.js';
import { codeOf, soap, startTestEmulator } from '../support/harness.js';

/**
 * An EWS client nobody here wrote: exchangelib (Debian's python3-exchangelib, 4.9), with its default behaviour —
 * ConvertId to learn the server's version, the auth type tasted from the 401 (NTLM), no .only() on queries — drives the
 * emulator through driver.py, one process per scenario, and every answer the emulator gave is checked against
 * messages.xsd in afterAll (startTestEmulator). docs/emulator.md, "Operations".
 *
 * /usr/bin/python3 is Debian's (the one python3-exchangelib installs into), not a pyenv python on PATH. Without
 * exchangelib (a fresh clone; .ci/run installs it) the file is skipped with a notice.
 */

const python = '/usr/bin/python3';
const driver = fileURLToPath(new URL('./driver.py', import.meta.url));
const probe = spawnSync(python, ['-c', 'import exchangelib'], { encoding: 'utf8' });
const available = probe.status === 0;
if (!available) {
  console.log(
    `\n  notice: test/emulator/exchangelib skipped: ${python} cannot import exchangelib ` +
      `(apt-get install python3-exchangelib; .ci/run installs it)\n`,
  );
}

const alice = 'alice@contoso.test';
const bob = 'bob@contoso.test';

// A "minute" of 2 s: get_streaming_events(connection_timeout=1) holds its connection that long.
const emulator = available ? await startTestEmulator({ minuteMs: 2000 }) : (undefined as never);

describe.skipIf(!available)('exchangelib against the emulator', () => {
  /** Runs one scenario of driver.py and returns what it printed; a failure carries the Python traceback. */
  function run(scenario: string): Promise<Record<string, unknown>> {
    const env = {
      ...process.env,
      PYTHONDONTWRITEBYTECODE: '1',
      EXH_EWS_URL: emulator.url,
      EXH_PASSWORD: emulator.password,
      EXH_SERVICE_ACCOUNT: emulator.serviceAccount,
      EXH_ALICE: alice,
      EXH_BOB: bob,
    };
    return new Promise((resolve, reject) => {
      execFile(python, [driver, scenario], { env, timeout: 120_000 }, (error, stdout, stderr) => {
        if (error) {
          const trace = stderr.trim().split('\n').slice(-12).join('\n');
          reject(new Error(`exchangelib scenario ${scenario} failed:\n${trace}`));
          return;
        }
        resolve(JSON.parse(stdout) as Record<string, unknown>);
      });
    });
  }

  const timeout = 180_000;

  it(
    'learns the server version with ConvertId, logs on with NTLM, converts ids between every format',
    async () => {
      const since = Date.now();
      const result = await run('version');
      expect(result).toEqual({
        build: '15.1.1261.35',
        api_version: 'Exchange2016',
        auth_type: 'NTLM',
        convert_id_round_trips: { EwsLegacyId: true, EntryId: true, HexEntryId: true, StoreId: true, OwaId: true },
      });
      // exchangelib probes with ConvertId, asking with the versions it knows in an order of its own (4.9: the newest,
      // Exchange2019, first) until an answer carries ServerVersionInfo; then come the ten conversions of the inbox's
      // id. Whatever the order, the emulator answers each as Exchange 2016 does: a version newer than it serves is the
      // SOAP fault ErrorInvalidServerVersion, one it serves is answered; no probe is answered before a refused one,
      // and the version exchangelib settled on was asked and answered.
      const calls = emulator.admin.requests({ operation: 'ConvertId', since }).filter((r) => r.account === alice);
      const served = (asked: string | undefined) => (versions as readonly string[]).includes(asked ?? '');
      for (const call of calls) {
        if (served(call.requestedVersion)) expect(call.status, call.requestedVersion).toBe(200);
        else expect(call.fault, call.requestedVersion).toBe('ErrorInvalidServerVersion');
      }
      const firstAnswered = calls.findIndex((c) => c.status === 200);
      expect(firstAnswered).toBeGreaterThanOrEqual(0);
      expect(calls.slice(firstAnswered).every((c) => c.status === 200)).toBe(true);
      expect(calls[firstAnswered]?.requestedVersion).toBe(result.api_version);
      expect(calls.filter((c) => c.status === 200)).toHaveLength(11);
      // The refusal itself, whatever exchangelib asks first: the newest version it knows, then the one it settled on.
      const id = emulator.admin.createItem(alice, { kind: 'Message', Subject: 'version probe' })?.id;
      const probe = (version: string) =>
        soap(
          emulator,
          `<m:ConvertId DestinationFormat="EwsLegacyId"><m:SourceIds><t:AlternateId Format="EwsId" Id="${id}" Mailbox="${alice}"/></m:SourceIds></m:ConvertId>`,
          { account: alice, version },
        );
      expect(codeOf(await probe('Exchange2019'))).toBe('ErrorInvalidServerVersion');
      expect(codeOf(await probe('Exchange2016'))).toBe('NoError');
    },
    timeout,
  );

  it(
    'walks the folder tree: every distinguished folder with its name and class',
    async () => {
      const result = (await run('folders')) as {
        walked: { name: string; class: string; folder_class: string | null }[];
        children: string[];
        distinguished: Record<string, { name?: string; folder_class?: string | null; error?: string }>;
        inbox: Record<string, unknown>;
        inbox_via_slash: string;
      };
      const classOf = Object.fromEntries(result.walked.map((f) => [f.name, [f.class, f.folder_class]]));
      expect(classOf).toMatchObject({
        Inbox: ['Inbox', 'IPF.Note'],
        Calendar: ['Calendar', 'IPF.Appointment'],
        Contacts: ['Contacts', 'IPF.Contact'],
        Tasks: ['Tasks', 'IPF.Task'],
        Notes: ['Notes', 'IPF.StickyNote'],
        Journal: ['Journal', 'IPF.Journal'],
        'Sent Items': ['SentItems', 'IPF.Note'],
        'Deleted Items': ['DeletedItems', 'IPF.Note'],
        'Junk Email': ['JunkEmail', 'IPF.Note'],
        Conflicts: ['Conflicts', 'IPF.Note'],
        'Recoverable Items': ['RecoverableItemsRoot', null],
      });
      expect(result.children).toEqual(
        expect.arrayContaining(['Inbox', 'Drafts', 'Sent Items', 'Outbox', 'Deleted Items', 'Calendar', 'Notes']),
      );
      const missing = Object.entries(result.distinguished).filter(([, folder]) => folder.error !== undefined);
      expect(missing).toEqual([]);
      expect(result.distinguished.notes).toEqual({ name: 'Notes', folder_class: 'IPF.StickyNote' });
      expect(result.inbox).toEqual({
        name: 'Inbox',
        folder_class: 'IPF.Note',
        total_count: emulator.admin.items(alice, 'inbox').length,
        unread_count: expect.any(Number),
        child_folder_count: 0,
      });
      expect(result.inbox_via_slash).toBe('Inbox');
    },
    timeout,
  );

  it(
    'reads calendar, inbox, contacts and tasks with .all(), every field exchangelib knows',
    async () => {
      emulator.admin.createItem(alice, {
        kind: 'CalendarItem',
        Subject: 'xl seeded appointment',
        Start: '2030-05-06T09:00:00Z',
        End: '2030-05-06T10:00:00Z',
        Location: 'Room 2',
      });
      emulator.admin.createItem(alice, {
        kind: 'Message',
        folder: 'inbox',
        Subject: 'xl seeded mail',
        Body: 'hello',
        From: bob,
        ToRecipients: [alice],
      });
      emulator.admin.createItem(alice, {
        kind: 'Contact',
        DisplayName: 'Grace Hopper',
        GivenName: 'Grace',
        EmailAddresses: { EmailAddress1: 'grace@contoso.test' },
      });
      emulator.admin.createItem(alice, { kind: 'Task', Subject: 'xl seeded task', Status: 'InProgress' });
      const result = (await run('all_items')) as Record<string, { subject: string; extra: object }[]>;
      expect(result.calendar).toContainEqual(
        expect.objectContaining({
          subject: 'xl seeded appointment',
          extra: expect.objectContaining({ location: 'Room 2' }),
        }),
      );
      expect(result.inbox).toContainEqual(expect.objectContaining({ subject: 'xl seeded mail' }));
      expect(result.contacts).toContainEqual(
        expect.objectContaining({
          extra: expect.objectContaining({ display_name: 'Grace Hopper', emails: ['grace@contoso.test'] }),
        }),
      );
      expect(result.tasks).toContainEqual(
        expect.objectContaining({
          subject: 'xl seeded task',
          extra: expect.objectContaining({ status: 'InProgress' }),
        }),
      );
    },
    timeout,
  );

  it(
    'creates, updates, reads back and deletes a CalendarItem, Message, Contact and Task',
    async () => {
      const result = (await run('crud')) as Record<string, { read_back: string; left_in_folder: string[] }>;
      expect(result.CalendarItem?.read_back).toBe('xl appointment (changed)');
      expect(result.Message?.read_back).toBe('xl draft (changed)');
      expect(result.Contact?.read_back).toBe('Ada King');
      expect(result.Task?.read_back).toBe('xl task (changed)');
      for (const [kind, outcome] of Object.entries(result)) {
        expect(outcome.left_in_folder, kind).not.toContain(outcome.read_back);
      }
    },
    timeout,
  );

  it(
    'sends mail: send(), send_and_save() and a saved draft sent',
    async () => {
      const result = (await run('send')) as Record<string, string[]>;
      expect(result.bob_inbox).toEqual(
        expect.arrayContaining(['xl sent only', 'xl sent and saved', 'xl draft then sent']),
      );
      expect(result.alice_sent).toEqual(expect.arrayContaining(['xl sent and saved', 'xl draft then sent']));
      expect(result.alice_sent).not.toContain('xl sent only');
      expect(result.alice_drafts).not.toContain('xl draft then sent');
    },
    timeout,
  );

  it(
    'syncs a folder with sync_items: create, update and delete since the last sync state',
    async () => {
      const result = (await run('sync')) as Record<string, [string, unknown][]>;
      expect(result.second).toEqual([['create', 'xl synced task']]);
      expect(result.third).toEqual([['update', 'xl synced task (changed)']]);
      expect(result.fourth?.map(([change]) => change)).toEqual(['delete']);
    },
    timeout,
  );

  it(
    'gets events of a pull subscription',
    async () => {
      const result = (await run('pull')) as { events: string[] };
      expect(result.events).toContain('CreatedEvent');
    },
    timeout,
  );

  it(
    'gets events of a streaming subscription',
    async () => {
      const result = (await run('streaming')) as { events: string[] };
      expect(result.events).toContain('CreatedEvent');
    },
    timeout,
  );

  it(
    'impersonates a mailbox with the service account (Account access_type=IMPERSONATION)',
    async () => {
      const since = Date.now();
      const result = (await run('impersonation')) as { access_type: string; tasks: string[] };
      expect(result).toEqual({ access_type: 'impersonation', tasks: expect.arrayContaining(['xl task as bob']) });
      const created = emulator.admin.requests({ operation: 'CreateItem', since });
      expect(created.map((r) => [r.account, r.mailbox])).toEqual([[emulator.serviceAccount, bob]]);
    },
    timeout,
  );

  it(
    'answers a meeting request: the attendee accepts, the organizer sees the answer',
    async () => {
      const result = (await run('meeting')) as {
        bob_calendar: string[];
        organizer_attendees: { email: string; response: string }[];
      };
      expect(result.bob_calendar).toEqual(['Accept']);
      expect(result.organizer_attendees).toEqual([{ email: bob, response: 'Accept' }]);
    },
    timeout,
  );
  it(
    'syncs the folder hierarchy with sync_hierarchy: the whole tree, then nothing',
    async () => {
      const result = (await run('sync_hierarchy')) as Record<string, [string, string | null][]>;
      const names = result.first?.map(([, name]) => name);
      expect(names).toEqual(expect.arrayContaining(['Inbox', 'Calendar', 'Conflicts', 'Recoverable Items']));
      expect(result.first?.every(([change]) => change === 'create')).toBe(true);
      expect(result.second).toEqual([]);
    },
    timeout,
  );

  it(
    'resolves a name with resolve_names',
    async () => {
      expect(await run('resolve_names')).toEqual({ found: [bob] });
    },
    timeout,
  );

  it(
    'lists the server time zones with get_timezones',
    async () => {
      const result = (await run('timezones')) as { count: number; ids: string[] };
      expect(result.count).toBeGreaterThan(100);
      expect(result.ids).toEqual(expect.arrayContaining(['UTC', 'W. Europe Standard Time', 'Pacific Standard Time']));
    },
    timeout,
  );

  it(
    'lists room lists with get_roomlists',
    async () => {
      // The emulator's organization has no room lists (docs/emulator.md: a fixed answer): exchangelib reads the
      // empty RoomLists as an empty list, from a GetRoomLists answered NoError.
      const since = Date.now();
      expect(await run('room_lists')).toEqual({ room_lists: [] });
      const calls = emulator.admin.requests({ operation: 'GetRoomLists', since });
      expect(calls.map((c) => [c.status, c.fault, c.responseCode])).toEqual([[200, undefined, undefined]]);
    },
    timeout,
  );

  it(
    'sets and reads Out of Office settings through account.oof_settings',
    async () => {
      expect(await run('oof')).toEqual({ state: 'Enabled', internal_reply: 'Away', external_audience: 'All' });
    },
    timeout,
  );

  it(
    'reads free/busy with get_free_busy_info',
    async () => {
      const result = (await run('free_busy')) as { events: [string, string, string][] };
      expect(result.events).toEqual([['Busy', '2030-05-09T09:00:00', '2030-05-09T10:00:00']]);
    },
    timeout,
  );
});
