import {
  ChangeType,
  EventType,
  FolderId,
  type ItemChange,
  type ItemId,
  ItemView,
  PropertySet,
  SyncFolderItemsScope,
  WellKnownFolderName,
} from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import type { ItemSummary } from '../../../emulator/index.js';
import { adminCall, basic, ewsService, startTestEmulator } from '../support/harness.js';

const emulator = await startTestEmulator();
const alice = 'alice@contoso.test';
const service = ewsService(emulator, alice);

describe('admin endpoint guard', () => {
  it('answers 401 to anyone but the service account, and 415 to bodies that are not JSON', async () => {
    expect((await adminCall(emulator, 'GET', '/mailboxes', undefined, '')).status).toBe(401);
    expect((await adminCall(emulator, 'GET', '/mailboxes', undefined, basic(alice, emulator.password))).status).toBe(
      401,
    );
    expect(
      (await adminCall(emulator, 'GET', '/mailboxes', undefined, basic(emulator.serviceAccount, 'wrong'))).status,
    ).toBe(401);
    const form = await fetch(`${emulator.adminUrl}/reset`, {
      method: 'POST',
      headers: {
        authorization: basic(emulator.serviceAccount, emulator.password),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'mailbox=alice@contoso.test',
    });
    expect(form.status).toBe(415);
  });

  it('answers 404 for an unknown mailbox and 400 for an invalid item', async () => {
    expect((await adminCall(emulator, 'GET', '/mailboxes/ghost@contoso.test/items')).status).toBe(404);
    const bad = await adminCall(emulator, 'POST', `/mailboxes/${alice}/items`, { kind: 'Spaceship' });
    expect(bad.status).toBe(400);
    const badDate = await adminCall(emulator, 'POST', `/mailboxes/${alice}/items`, {
      kind: 'CalendarItem',
      Start: 'tomorrow',
    });
    expect(badDate.status).toBe(400);
  });

  it('refuses an item with a malformed id or an unknown property, naming it', async () => {
    const before = emulator.admin.items(alice);
    const badId = await adminCall(emulator, 'POST', `/mailboxes/${alice}/items`, {
      kind: 'Task',
      id: 'not valid id',
      Subject: 'x',
    });
    expect(badId.status).toBe(400);
    expect((badId.json as { message: string }).message).toContain('not valid id');
    const typo = await adminCall(emulator, 'POST', `/mailboxes/${alice}/items`, { kind: 'Task', Subjet: 'x' });
    expect(typo.status).toBe(400);
    expect((typo.json as { message: string }).message).toContain('Subjet');
    const readOnly = await adminCall(emulator, 'POST', `/mailboxes/${alice}/items`, {
      kind: 'CalendarItem',
      DateTimeCreated: '2020-01-01T00:00:00Z',
    });
    expect(readOnly.status).toBe(400);
    expect(emulator.admin.items(alice)).toEqual(before);
  });

  it('refuses a fault for an unknown operation or mailbox, naming it', async () => {
    const operation = await adminCall(emulator, 'POST', '/faults', { kind: 'serverBusy', operations: ['GetItm'] });
    expect(operation.status).toBe(400);
    expect((operation.json as { message: string }).message).toContain('GetItm');
    const mailbox = await adminCall(emulator, 'POST', '/faults', {
      kind: 'mailboxMove',
      mailbox: 'ghost@contoso.test',
    });
    expect(mailbox.status).toBe(400);
    expect((mailbox.json as { message: string }).message).toContain('ghost@contoso.test');
    expect((await adminCall(emulator, 'GET', '/faults')).json).toEqual([]);
  });
});

describe('settings at run time', () => {
  it('reads and changes the settings, and refuses unknown ones and bad values', async () => {
    const read = await adminCall(emulator, 'GET', '/settings');
    expect(read.json).toEqual({
      maxHangingConnections: 3,
      findCountLimit: 1000,
      impersonationAllowed: true,
      copyExtendedPropertiesToAttendees: false,
    });
    const changed = await adminCall(emulator, 'PATCH', '/settings', { maxHangingConnections: 10 });
    expect(changed.status).toBe(200);
    expect((changed.json as { maxHangingConnections: number }).maxHangingConnections).toBe(10);
    expect(emulator.admin.settings().maxHangingConnections).toBe(10);
    const unknown = await adminCall(emulator, 'PATCH', '/settings', { hangingConnectionLimit: 5 });
    expect(unknown.status).toBe(400);
    expect((unknown.json as { message: string }).message).toContain('hangingConnectionLimit');
    expect((await adminCall(emulator, 'PATCH', '/settings', { maxHangingConnections: 0 })).status).toBe(400);
    await adminCall(emulator, 'PATCH', '/settings', { maxHangingConnections: 3 });
  });
});

describe('acting as a user over HTTP', () => {
  it('creates, changes and deletes items as in Outlook, which sync states and notifications see', async () => {
    const watch = await service.SubscribeToPullNotifications(
      [new FolderId(WellKnownFolderName.Contacts)],
      10,
      null as unknown as string,
      EventType.Created,
      EventType.Modified,
      EventType.Moved,
    );
    const start = await service.SyncFolderItems(
      new FolderId(WellKnownFolderName.Contacts),
      PropertySet.IdOnly,
      null as unknown as ItemId[],
      100,
      SyncFolderItemsScope.NormalItems,
      null as unknown as string,
    );
    const created = await adminCall(emulator, 'POST', `/mailboxes/${alice}/items`, {
      kind: 'Contact',
      GivenName: 'Frank',
      Surname: 'Smit',
      EmailAddresses: { EmailAddress1: 'frank@example.test' },
    });
    expect(created.status).toBe(201);
    const contact = created.json as ItemSummary;
    expect(contact.folder).toBe('contacts');
    const patched = await adminCall(emulator, 'PATCH', `/mailboxes/${alice}/items/${encodeURIComponent(contact.id)}`, {
      JobTitle: 'Baker',
    });
    expect((patched.json as ItemSummary).properties.JobTitle).toBe('Baker');
    expect((patched.json as ItemSummary).changeKey).not.toBe(contact.changeKey);

    const delta = await service.SyncFolderItems(
      new FolderId(WellKnownFolderName.Contacts),
      PropertySet.FirstClassProperties,
      null as unknown as ItemId[],
      100,
      SyncFolderItemsScope.NormalItems,
      start.SyncState,
    );
    const changes = delta.GetEnumerator() as ItemChange[];
    expect(changes.map((c) => [ChangeType[c.ChangeType], c.ItemId.UniqueId])).toEqual([['Create', contact.id]]);

    const removed = await adminCall(emulator, 'DELETE', `/mailboxes/${alice}/items/${encodeURIComponent(contact.id)}`);
    expect(removed.status).toBe(200);
    const events = await watch.GetEvents();
    expect(events.ItemEvents.map((e) => EventType[e.EventType])).toEqual(['Created', 'Modified', 'Moved']);
  });

  it('lists occurrences of a series and changes or deletes one of them', async () => {
    const master = (
      await adminCall(emulator, 'POST', `/mailboxes/${alice}/items`, {
        kind: 'CalendarItem',
        Subject: 'Daily',
        Start: '2024-02-05T09:00:00Z',
        End: '2024-02-05T09:30:00Z',
        Recurrence: {
          DailyRecurrence: { Interval: 1 },
          NumberedRecurrence: { StartDate: '2024-02-05', NumberOfOccurrences: 3 },
        },
      })
    ).json as ItemSummary;
    const path = `/mailboxes/${alice}/items/${encodeURIComponent(master.id)}/occurrences?from=2024-02-01T00:00:00Z&to=2024-03-01T00:00:00Z`;
    const occurrences = (await adminCall(emulator, 'GET', path)).json as ItemSummary[];
    expect(occurrences.map((o) => o.occurrence?.originalStart)).toEqual([
      '2024-02-05T09:00:00Z',
      '2024-02-06T09:00:00Z',
      '2024-02-07T09:00:00Z',
    ]);
    await adminCall(emulator, 'PATCH', `/mailboxes/${alice}/items/${encodeURIComponent(occurrences[1]?.id ?? '')}`, {
      Subject: 'Daily, later',
    });
    await adminCall(emulator, 'DELETE', `/mailboxes/${alice}/items/${encodeURIComponent(occurrences[2]?.id ?? '')}`);
    const after = (await adminCall(emulator, 'GET', path)).json as ItemSummary[];
    expect(after.map((o) => [o.properties.Subject, o.occurrence?.exception])).toEqual([
      ['Daily', false],
      ['Daily, later', true],
    ]);
  });

  it('lists mailboxes, adds one and resets them', async () => {
    expect((await adminCall(emulator, 'POST', '/mailboxes', { address: 'dora@contoso.test' })).status).toBe(201);
    await adminCall(emulator, 'POST', '/mailboxes/dora@contoso.test/items', { kind: 'Task', Subject: 'x' });
    const listed = (await adminCall(emulator, 'GET', '/mailboxes')).json as {
      address: string;
      folders: Record<string, number>;
    }[];
    expect(listed.find((m) => m.address === 'dora@contoso.test')?.folders.tasks).toBe(1);
    expect((await adminCall(emulator, 'POST', '/reset', { mailbox: 'dora@contoso.test' })).status).toBe(200);
    const reset = (await adminCall(emulator, 'GET', '/mailboxes')).json as {
      address: string;
      folders: Record<string, number>;
    }[];
    expect(reset.find((m) => m.address === 'dora@contoso.test')?.folders.tasks).toBe(0);
  });

  it('switches faults on and off', async () => {
    const added = await adminCall(emulator, 'POST', '/faults', { kind: 'serverBusy', backOffMs: 1234, calls: 1 });
    expect(added.status).toBe(201);
    const busy = await service.FindItems(WellKnownFolderName.Inbox, new ItemView(1)).catch((e: unknown) => e);
    expect((busy as { ErrorDetails?: { get(k: string): string } }).ErrorDetails?.get('BackOffMilliseconds')).toBe(
      '1234',
    );
    expect(((await adminCall(emulator, 'GET', '/faults')).json as unknown[]).length).toBe(0);
    await adminCall(emulator, 'POST', '/faults', { kind: 'mailboxMove', mailbox: alice });
    expect(((await adminCall(emulator, 'GET', '/faults')).json as unknown[]).length).toBe(1);
    expect((await adminCall(emulator, 'DELETE', '/faults')).status).toBe(200);
    expect((await adminCall(emulator, 'GET', '/faults')).json).toEqual([]);
  });
});
