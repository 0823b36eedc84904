import {
  BasePropertySet,
  Folder,
  FolderId,
  FolderTraversal,
  FolderView,
  PropertySet,
  WellKnownFolderName,
} from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import { distinguishedFolders } from '../../../emulator/store/mailbox.js';
import { errorCodeOf, ewsService, startTestEmulator } from '../support/harness.js';

const emulator = await startTestEmulator();
const service = ewsService(emulator, 'alice@contoso.test');

describe('GetFolder', () => {
  it('binds every distinguished folder the connector uses, with its class and counts', async () => {
    emulator.admin.createItem('alice@contoso.test', { kind: 'Task', Subject: 'one' });
    const expected: [WellKnownFolderName, string, string][] = [
      [WellKnownFolderName.Calendar, 'Calendar', 'IPF.Appointment'],
      [WellKnownFolderName.Contacts, 'Contacts', 'IPF.Contact'],
      [WellKnownFolderName.Inbox, 'Inbox', 'IPF.Note'],
      [WellKnownFolderName.SentItems, 'Sent Items', 'IPF.Note'],
      [WellKnownFolderName.Tasks, 'Tasks', 'IPF.Task'],
      [WellKnownFolderName.DeletedItems, 'Deleted Items', 'IPF.Note'],
    ];
    for (const [name, displayName, folderClass] of expected) {
      const folder = await Folder.Bind(service, name, new PropertySet(BasePropertySet.FirstClassProperties));
      expect([folder.DisplayName, folder.FolderClass]).toEqual([displayName, folderClass]);
    }
    expect((await Folder.Bind(service, WellKnownFolderName.Tasks)).TotalCount).toBe(1);
  });

  it('binds a folder by its id, and answers ErrorFolderNotFound for an unknown one', async () => {
    const calendar = await Folder.Bind(service, WellKnownFolderName.Calendar);
    const again = await Folder.Bind(service, new FolderId(calendar.Id.UniqueId));
    expect(again.DisplayName).toBe('Calendar');
    expect(await errorCodeOf(() => Folder.Bind(service, new FolderId('AQMkAnotAFolderOfThisMailbox=')))).toBe(
      'ErrorFolderNotFound',
    );
  });
});

describe('FindFolder', () => {
  it('lists the folders under the message root, shallow and deep', async () => {
    const shallow = await service.FindFolders(WellKnownFolderName.MsgFolderRoot, new FolderView(50));
    const names = shallow.Folders.map((f) => f.DisplayName);
    expect(names).toEqual(
      expect.arrayContaining(['Inbox', 'Sent Items', 'Deleted Items', 'Calendar', 'Contacts', 'Tasks']),
    );
    const deepView = new FolderView(50);
    deepView.Traversal = FolderTraversal.Deep;
    const deep = await service.FindFolders(WellKnownFolderName.Root, deepView);
    // Every folder below root: the message root, its folders and theirs (Sync Issues' three, Contacts' three), and
    // the system folders beside it (Recoverable Items, Finder, …): store/mailbox.ts.
    expect(deep.TotalCount).toBe(distinguishedFolders.length - 1);
    expect(deep.Folders.map((f) => f.DisplayName)).toEqual(expect.arrayContaining([...names, 'Conflicts', 'Finder']));
    const paged = await service.FindFolders(WellKnownFolderName.MsgFolderRoot, new FolderView(3));
    expect(paged.Folders.length).toBe(3);
    expect(paged.MoreAvailable).toBe(true);
  });
});
