import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderId, type ItemId, PropertySet, SyncFolderItemsScope, WellKnownFolderName } from 'ews-javascript-api';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../../emulator/index.js';
import { ewsService } from '../support/harness.js';

const directory = mkdtempSync(join(tmpdir(), 'exh-emulator-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('--data persistence', () => {
  it('saves mailboxes on close and loads them at start: same ids, change keys and sync states', async () => {
    const file = join(directory, 'mailboxes.json');
    const first = await startEmulator({ port: 0, dataFile: file, mailboxes: ['erin@fabrikam.test'] });
    const user = 'erin@fabrikam.test';
    const series = first.admin.createItem(user, {
      kind: 'CalendarItem',
      Subject: 'Kept',
      Start: '2024-04-01T09:00:00Z',
      End: '2024-04-01T10:00:00Z',
      Recurrence: {
        DailyRecurrence: { Interval: 1 },
        NumberedRecurrence: { StartDate: '2024-04-01', NumberOfOccurrences: 3 },
      },
      ExtendedProperties: [
        { PropertySetId: 'c11ff724-aa03-4555-9952-8fa248a11c3e', PropertyName: 'exh_app_item_id', Value: 'APP-9' },
      ],
      Attachments: [{ Name: 'notes.txt', Content: Buffer.from('notes').toString('base64') }],
    });
    const [, second] = first.admin.occurrences(user, series?.id ?? '', '2024-04-01T00:00:00Z', '2024-04-05T00:00:00Z');
    first.admin.updateItem(user, second?.id ?? '', { Subject: 'Kept, moved' });
    const service = ewsService(first, user);
    const sync = await service.SyncFolderItems(
      new FolderId(WellKnownFolderName.Calendar),
      PropertySet.IdOnly,
      null as unknown as ItemId[],
      100,
      SyncFolderItemsScope.NormalItems,
      null as unknown as string,
    );
    const before = first.admin.items(user);
    await first.close();
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved.format).toBe('exh-emulator-mailboxes');
    // The secret that seals sync states and watermarks travels with the mailboxes, so the state below still opens.
    expect(Buffer.from(saved.secret, 'base64').length).toBe(32);

    const again = await startEmulator({ port: 0, dataFile: file, mailboxes: ['someone.else@fabrikam.test'] });
    try {
      expect(again.admin.mailboxes().map((m) => m.address)).toEqual([user]);
      expect(again.admin.items(user)).toEqual(before);
      const occurrences = again.admin.occurrences(
        user,
        series?.id ?? '',
        '2024-04-01T00:00:00Z',
        '2024-04-05T00:00:00Z',
      );
      expect(occurrences.map((o) => o.properties.Subject)).toEqual(['Kept', 'Kept, moved', 'Kept']);
      const resumed = await ewsService(again, user).SyncFolderItems(
        new FolderId(WellKnownFolderName.Calendar),
        PropertySet.IdOnly,
        null as unknown as ItemId[],
        100,
        SyncFolderItemsScope.NormalItems,
        sync.SyncState,
      );
      expect(resumed.Count).toBe(0);
    } finally {
      await again.close();
    }
  });

  it('refuses a data file it cannot read, naming the file', async () => {
    const file = join(directory, 'broken.json');
    writeFileSync(file, '{"format":"something else"}');
    await expect(startEmulator({ port: 0, dataFile: file })).rejects.toThrow(/broken\.json/);
  });
});
