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
import type { ItemSummary } from '../../../src/emulator/index.js';
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
