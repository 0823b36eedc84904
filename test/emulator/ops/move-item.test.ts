import { EmailMessage, MessageBody, WellKnownFolderName } from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import { codeOf, ewsService, soap, startTestEmulator } from '../support/harness.js';

const emulator = await startTestEmulator();
const alice = 'alice@contoso.test';
const service = ewsService(emulator, alice);

const move = (id: string, folder: string, extra = '') =>
  `<m:MoveItem><m:ToFolderId><t:DistinguishedFolderId Id="${folder}"/></m:ToFolderId><m:ItemIds><t:ItemId Id="${id}"/></m:ItemIds>${extra}</m:MoveItem>`;

describe('MoveItem', () => {
  it('moves a message under a new id, as ews-javascript-api expects (Item.Move)', async () => {
    const message = new EmailMessage(service);
    message.Subject = 'Move me';
    message.Body = new MessageBody('text');
    await message.Save(WellKnownFolderName.Drafts);
    const oldId = message.Id.UniqueId;
    const moved = await message.Move(WellKnownFolderName.Inbox);
    expect(moved?.Id.UniqueId).toBeTruthy();
    expect(moved?.Id.UniqueId).not.toBe(oldId);
    expect(emulator.admin.items(alice, 'inbox').map((i) => i.id)).toContain(moved?.Id.UniqueId);
    expect(emulator.admin.items(alice, 'drafts').map((i) => i.id)).not.toContain(oldId);
    // The old id is gone, as after any move on Exchange.
    expect(codeOf(await soap(emulator, move(oldId, 'inbox'), { impersonate: alice }))).toBe('ErrorItemNotFound');
  });

  it('answers no item with ReturnNewItemIds false, refuses a search folder and an occurrence', async () => {
    const item = emulator.admin.createItem(alice, { kind: 'Message', Subject: 'quiet move' });
    const quiet = await soap(
      emulator,
      move(item?.id ?? '', 'deleteditems', '<m:ReturnNewItemIds>false</m:ReturnNewItemIds>'),
      { impersonate: alice, version: 'Exchange2010_SP1' },
    );
    expect(codeOf(quiet)).toBe('NoError');
    expect(quiet.text).toContain('<m:Items></m:Items>');

    const other = emulator.admin.createItem(alice, { kind: 'Message', Subject: 'not into a search folder' });
    const search = await soap(emulator, move(other?.id ?? '', 'todosearch'), { impersonate: alice });
    expect(codeOf(search)).toBe('ErrorMoveCopyFailed');

    const series = emulator.admin.createItem(alice, {
      kind: 'CalendarItem',
      Subject: 'Daily',
      Start: '2024-05-06T09:00:00Z',
      End: '2024-05-06T09:30:00Z',
      Recurrence: {
        DailyRecurrence: { Interval: 1 },
        NumberedRecurrence: { StartDate: '2024-05-06', NumberOfOccurrences: 3 },
      },
    });
    const occurrence = `<m:MoveItem><m:ToFolderId><t:DistinguishedFolderId Id="inbox"/></m:ToFolderId><m:ItemIds><t:OccurrenceItemId RecurringMasterId="${series?.id}" InstanceIndex="2"/></m:ItemIds></m:MoveItem>`;
    expect(codeOf(await soap(emulator, occurrence, { impersonate: alice }))).toBe(
      'ErrorCalendarCannotMoveOrCopyOccurrence',
    );
  });
});
