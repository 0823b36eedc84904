import { createHash } from 'node:crypto';
import {
  ChangeType,
  EventType,
  type ExchangeService,
  FolderId,
  type ItemChange,
  ItemId,
  PropertySet,
  SyncFolderItemsScope,
  WellKnownFolderName,
} from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import { errorCodeOf, ewsService, soap, startTestEmulator } from '../support/harness.js';

const emulator = await startTestEmulator();
const noIgnored = null as unknown as ItemId[];

async function sync(
  service: ExchangeService,
  folder: WellKnownFolderName,
  state: string | null,
  max = 512,
  shape = PropertySet.IdOnly,
) {
  const changes = await service.SyncFolderItems(
    new FolderId(folder),
    shape,
    noIgnored,
    max,
    SyncFolderItemsScope.NormalItems,
    state as string,
  );
  return {
    changes: changes.GetEnumerator() as ItemChange[],
    state: changes.SyncState,
    more: changes.MoreChangesAvailable,
  };
}

/** Pages through a folder to the end, collecting every change. */
async function syncAll(service: ExchangeService, folder: WellKnownFolderName, state: string | null, max: number) {
  const pages: ItemChange[][] = [];
  let current = state;
  for (;;) {
    const page = await sync(service, folder, current, max);
    pages.push(page.changes);
    current = page.state;
    if (!page.more) return { pages, state: current };
  }
}

function summary(changes: ItemChange[]): string[] {
  return changes.map((c) => `${ChangeType[c.ChangeType]} ${c.ItemId.UniqueId}`);
}

describe('SyncFolderItems', () => {
  it('pages a full sync through a folder in pages of MaxChangesReturned', async () => {
    const user = 'pager@contoso.test';
    emulator.admin.addMailbox(user);
    emulator.admin.seed(user, 'Task', 25);
    const service = ewsService(emulator, user);
    const { pages } = await syncAll(service, WellKnownFolderName.Tasks, null, 10);
    expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
    const all = pages.flat();
    expect(all.every((c) => c.ChangeType === ChangeType.Create)).toBe(true);
    expect(new Set(all.map((c) => c.ItemId.UniqueId)).size).toBe(25);
  });

  it('reports creates, updates, read-flag changes and deletes since a sync state', async () => {
    const user = 'delta@contoso.test';
    emulator.admin.addMailbox(user);
    const service = ewsService(emulator, user);
    const keep = emulator.admin.createItem(user, {
      kind: 'Message',
      folder: 'inbox',
      Subject: 'keep',
      IsRead: 'false',
    });
    const change = emulator.admin.createItem(user, { kind: 'Message', folder: 'inbox', Subject: 'change' });
    const remove = emulator.admin.createItem(user, { kind: 'Message', folder: 'inbox', Subject: 'remove' });
    const first = await sync(service, WellKnownFolderName.Inbox, null);
    expect(first.changes.length).toBe(3);

    emulator.admin.updateItem(user, keep?.id ?? '', { IsRead: 'true' });
    emulator.admin.updateItem(user, change?.id ?? '', { Subject: 'changed' });
    emulator.admin.deleteItem(user, remove?.id ?? '', { hard: true });
    const added = emulator.admin.createItem(user, { kind: 'Message', folder: 'inbox', Subject: 'new' });
    const transient = emulator.admin.createItem(user, { kind: 'Message', folder: 'inbox', Subject: 'transient' });
    emulator.admin.deleteItem(user, transient?.id ?? '', { hard: true });

    const second = await sync(service, WellKnownFolderName.Inbox, first.state);
    expect(summary(second.changes).sort()).toEqual(
      [`ReadFlagChange ${keep?.id}`, `Update ${change?.id}`, `Delete ${remove?.id}`, `Create ${added?.id}`].sort(),
    );
    const readFlag = second.changes.find((c) => c.ChangeType === ChangeType.ReadFlagChange);
    expect(readFlag?.IsRead).toBe(true);
    const third = await sync(service, WellKnownFolderName.Inbox, second.state);
    expect(third.changes).toEqual([]);
    expect(third.more).toBe(false);
  });

  it('never reports an item twice as created when it changes while a client is paging', async () => {
    const user = 'moving@contoso.test';
    emulator.admin.addMailbox(user);
    emulator.admin.seed(user, 'Task', 6);
    const ids = emulator.admin.items(user, 'tasks').map((i) => i.id);
    const service = ewsService(emulator, user);
    const page1 = await sync(service, WellKnownFolderName.Tasks, null, 3);
    const delivered = page1.changes.map((c) => c.ItemId.UniqueId);
    const pending = ids.filter((id) => !delivered.includes(id));
    emulator.admin.updateItem(user, delivered[0] ?? '', { Subject: 'changed after delivery' });
    emulator.admin.updateItem(user, pending[0] ?? '', { Subject: 'changed before delivery' });
    const rest = await syncAll(service, WellKnownFolderName.Tasks, page1.state, 3);
    const later = rest.pages.flat();
    expect(summary(later).filter((s) => s.startsWith('Create')).length).toBe(3);
    expect(summary(later)).toContain(`Update ${delivered[0]}`);
    expect(summary(later)).toContain(`Create ${pending[0]}`);
    expect(summary(later)).not.toContain(`Update ${pending[0]}`);
  });

  it('returns the item properties a shape asks for', async () => {
    const user = 'shape@contoso.test';
    emulator.admin.addMailbox(user);
    emulator.admin.createItem(user, {
      kind: 'CalendarItem',
      Subject: 'Standup',
      Start: '2024-06-03T09:00:00Z',
      End: '2024-06-03T09:15:00Z',
    });
    const { changes } = await sync(
      ewsService(emulator, user),
      WellKnownFolderName.Calendar,
      null,
      10,
      PropertySet.FirstClassProperties,
    );
    expect(changes[0]?.Item.Subject).toBe('Standup');
  });

  it('skips the items a client asks it to ignore', async () => {
    const user = 'ignore@contoso.test';
    emulator.admin.addMailbox(user);
    const service = ewsService(emulator, user);
    const start = await sync(service, WellKnownFolderName.Contacts, null);
    const mine = emulator.admin.createItem(user, { kind: 'Contact', GivenName: 'Mine' });
    const theirs = emulator.admin.createItem(user, { kind: 'Contact', GivenName: 'Theirs' });
    const changes = await service.SyncFolderItems(
      new FolderId(WellKnownFolderName.Contacts),
      PropertySet.IdOnly,
      [new ItemId(mine?.id ?? '')],
      100,
      SyncFolderItemsScope.NormalItems,
      start.state,
    );
    expect(summary(changes.GetEnumerator() as ItemChange[])).toEqual([`Create ${theirs?.id}`]);
  });

  it('answers ErrorInvalidSyncStateData for a state it did not issue for this folder and mailbox', async () => {
    const user = 'invalid@contoso.test';
    emulator.admin.addMailbox(user);
    const service = ewsService(emulator, user);
    const calendar = await sync(service, WellKnownFolderName.Calendar, null);
    const code = (state: string) => errorCodeOf(() => sync(service, WellKnownFolderName.Tasks, state));
    expect(
      await code('H4sIAAAAAAAEAO29B2AcSZYlJi9tynt/SvVK1+B0oQiAYBMk2JBAEOzBiM3mkuwdaUcjKasqgcplVmVdZhZAzO2dvPfee+'),
    ).toBe('ErrorInvalidSyncStateData');
    expect(await code(calendar.state)).toBe('ErrorInvalidSyncStateData');
    const tasks = await sync(service, WellKnownFolderName.Tasks, null);
    emulator.admin.reset(user);
    expect(await code(tasks.state)).toBe('ErrorInvalidSyncStateData');
  });

  it('refuses a sync state or watermark altered by the client, even with a recomputed checksum', async () => {
    const user = 'forger@contoso.test';
    emulator.admin.addMailbox(user);
    const service = ewsService(emulator, user);
    emulator.admin.createItem(user, { kind: 'Task', Subject: 'seen' });
    const { state } = await sync(service, WellKnownFolderName.Tasks, null);
    // Rewind the state to "nothing seen" and re-seal it the way an unkeyed checksum would allow.
    const forge = (token: string, edit: (fields: string[]) => void) => {
      const parts = Buffer.from(token, 'base64').toString('utf8').split('\u0001');
      parts.pop();
      edit(parts);
      const body = parts.join('\u0001');
      const check = createHash('sha1').update(body).digest().subarray(0, 4).toString('hex');
      const sha256 = createHash('sha256').update(body).digest().subarray(0, 16).toString('base64');
      return [check, sha256].map((mac) => Buffer.from(`${body}\u0001${mac}`, 'utf8').toString('base64'));
    };
    for (const forged of forge(state, (fields) => {
      fields[3] = '0';
    })) {
      expect(await errorCodeOf(() => sync(service, WellKnownFolderName.Tasks, forged))).toBe(
        'ErrorInvalidSyncStateData',
      );
    }
    const subscription = await service.SubscribeToPullNotifications(
      [new FolderId(WellKnownFolderName.Tasks)],
      10,
      null as unknown as string,
      EventType.Created,
    );
    for (const forged of forge(subscription.Watermark, (fields) => {
      fields[2] = '0';
    })) {
      expect(
        await errorCodeOf(() =>
          service.SubscribeToPullNotifications(
            [new FolderId(WellKnownFolderName.Tasks)],
            10,
            forged,
            EventType.Created,
          ),
        ),
      ).toBe('ErrorInvalidWatermark');
    }
    expect((await sync(service, WellKnownFolderName.Tasks, state)).changes).toEqual([]);
  });

  it("refuses MaxChangesReturned outside 1 to 512 as Exchange's schema does", async () => {
    for (const max of [0, 513]) {
      const answer = await soap(
        emulator,
        `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="calendar"/></m:SyncFolderId><m:MaxChangesReturned>${max}</m:MaxChangesReturned></m:SyncFolderItems>`,
        { impersonate: 'alice@contoso.test' },
      );
      expect(answer.status).toBe(500);
      expect(answer.text).toContain('a:ErrorSchemaValidation');
    }
  });

  it('pages a 1,200-item folder in pages of 512 that the library reads', async () => {
    const user = 'large@contoso.test';
    emulator.admin.addMailbox(user);
    emulator.admin.seed(user, 'CalendarItem', 1200);
    const service = ewsService(emulator, user);
    let state: string | null = null;
    const sizes: number[] = [];
    for (;;) {
      const page = await sync(service, WellKnownFolderName.Calendar, state, 512, PropertySet.FirstClassProperties);
      sizes.push(page.changes.length);
      state = page.state;
      if (!page.more) break;
    }
    expect(sizes).toEqual([512, 512, 176]);
  });

  it('gives a client exactly the folder, whatever changes while it pages (a model of the client, 400 random steps)', async () => {
    const user = 'model@contoso.test';
    emulator.admin.addMailbox(user);
    let seed = 15;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const request = (state: string | undefined, max: number) =>
      soap(
        emulator,
        '<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>' +
          '<m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId>' +
          `${state ? `<m:SyncState>${state}</m:SyncState>` : ''}<m:MaxChangesReturned>${max}</m:MaxChangesReturned></m:SyncFolderItems>`,
        { impersonate: user },
      );
    const held = new Set<string>();
    let state: string | undefined;
    const steps: string[] = [];
    for (let step = 0; step < 400; step++) {
      const ids = emulator.admin.items(user, 'inbox').map((i) => i.id);
      const pick = () => ids[random(ids.length)] ?? '';
      const action = ids.length === 0 ? 0 : random(6);
      if (action === 0) emulator.admin.createItem(user, { kind: 'Message', folder: 'inbox', Subject: `m${step}` });
      else if (action === 1) emulator.admin.updateItem(user, pick(), { Subject: `s${step}` });
      else if (action === 2) emulator.admin.updateItem(user, pick(), { IsRead: random(2) === 0 ? 'true' : 'false' });
      else if (action === 3) emulator.admin.deleteItem(user, pick(), { hard: random(2) === 0 });
      else {
        // One page of 1 to 4 changes; a change is what it is from the client's side.
        const answer = await request(state, 1 + random(4));
        expect(answer.status).toBe(200);
        state = /<m:SyncState>([^<]+)<\/m:SyncState>/.exec(answer.text)?.[1];
        for (const [, type, id] of answer.text.matchAll(/<t:(Create|Update|ReadFlagChange|Delete)>.*?Id="([^"]+)"/g)) {
          steps.push(`${step} ${type} ${id}`);
          if (type === 'Create') expect(held.has(id as string), `${step}: Create of a held item`).toBe(false);
          else expect(held.has(id as string), `${step}: ${type} of an item the client lacks`).toBe(true);
          if (type === 'Create') held.add(id as string);
          if (type === 'Delete') held.delete(id as string);
        }
        if (answer.text.includes('<m:IncludesLastItemInRange>true<')) {
          expect([...held].sort(), `${step}`).toEqual(
            emulator.admin
              .items(user, 'inbox')
              .map((i) => i.id)
              .sort(),
          );
        }
      }
    }
    expect(steps.length).toBeGreaterThan(50);
  });

  it('hands out a state that does not grow with the folder once a sync reaches its end', async () => {
    const sizes: number[] = [];
    for (const [user, count] of [
      ['small@contoso.test', 10],
      ['big@contoso.test', 20_000],
    ] as const) {
      emulator.admin.addMailbox(user);
      emulator.admin.seed(user, 'Task', count);
      // Holes in the creation numbers, as deletions leave them, so that they do not compress to nothing.
      for (const [n, item] of emulator.admin.items(user, 'tasks').entries()) {
        if (n % 3 === 0) emulator.admin.deleteItem(user, item.id, { hard: true });
      }
      const { state } = await syncAll(ewsService(emulator, user), WellKnownFolderName.Tasks, null, 512);
      sizes.push(state.length);
    }
    // Only the position's digits differ.
    expect(Math.abs((sizes[1] ?? 0) - (sizes[0] ?? 0))).toBeLessThanOrEqual(8);
  });

  it('never reports the deletion of an item a client was not given, when a page ended after it was made', async () => {
    const user = 'gone@contoso.test';
    emulator.admin.addMailbox(user);
    const service = ewsService(emulator, user);
    const start = await sync(service, WellKnownFolderName.Tasks, null);
    const gone = emulator.admin.createItem(user, { kind: 'Task', Subject: 'made and removed between syncs' });
    const kept = ['a', 'b', 'c'].map((Subject) => emulator.admin.createItem(user, { kind: 'Task', Subject })?.id);
    emulator.admin.deleteItem(user, gone?.id ?? '', { hard: true });
    // The first page ends after the removed item was made and before it was removed.
    const first = await sync(service, WellKnownFolderName.Tasks, start.state, 1);
    const rest = await syncAll(service, WellKnownFolderName.Tasks, first.state, 512);
    expect([...summary(first.changes), ...summary(rest.pages.flat())]).toEqual(kept.map((id) => `Create ${id}`));
  });
});
