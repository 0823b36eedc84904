import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BasePropertySet, ChangeType, FolderId, PropertySet, WellKnownFolderName } from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import { startEmulator } from '../../../emulator/index.js';
import { codeOf, errorCodeOf, ewsService, soap, startTestEmulator } from '../support/harness.js';

const emulator = await startTestEmulator();
const alice = ewsService(emulator, 'alice@contoso.test');
const shape = new PropertySet(BasePropertySet.FirstClassProperties);

describe('SyncFolderHierarchy', () => {
  it('answers the whole tree on the first call, parents first, then only what changed', async () => {
    const first = await alice.SyncFolderHierarchy(shape, '');
    const changes = first.GetEnumerator();
    expect(first.MoreChangesAvailable).toBe(false);
    expect(changes.every((c) => ChangeType[c.ChangeType] === 'Create')).toBe(true);
    const names = changes.map((c) => c.Folder?.DisplayName);
    expect(names).toEqual(expect.arrayContaining(['Inbox', 'Calendar', 'Contacts', 'Tasks', 'Deleted Items']));
    // Every folder of the mailbox but the root, as a deep FindFolder from the root lists them.
    const deep = await soap(
      emulator,
      '<m:FindFolder Traversal="Deep"><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>' +
        '<m:ParentFolderIds><t:DistinguishedFolderId Id="root"/></m:ParentFolderIds></m:FindFolder>',
      { impersonate: 'alice@contoso.test' },
    );
    expect(changes.length).toBe(Number(/TotalItemsInView="(\d+)"/.exec(deep.text)?.[1]));
    // A parent comes before its children: the message root before the Inbox.
    const ids = changes.map((c) => c.Folder?.Id.UniqueId);
    for (const change of changes) {
      const parent = change.Folder?.ParentFolderId?.UniqueId;
      if (parent && ids.includes(parent))
        expect(ids.indexOf(parent)).toBeLessThan(ids.indexOf(change.Folder?.Id.UniqueId));
    }

    const again = await alice.SyncFolderHierarchy(shape, first.SyncState);
    expect(again.Count).toBe(0);

    // A task changes the Tasks folder's count: an Update of that folder alone.
    emulator.admin.createItem('alice@contoso.test', { kind: 'Task', Subject: 'counted' });
    const updated = await alice.SyncFolderHierarchy(shape, again.SyncState);
    expect(
      updated.GetEnumerator().map((c) => [ChangeType[c.ChangeType], c.Folder?.DisplayName, c.Folder?.TotalCount]),
    ).toEqual([['Update', 'Tasks', 1]]);
    expect((await alice.SyncFolderHierarchy(shape, updated.SyncState)).Count).toBe(0);
  });

  it('syncs the folders below SyncFolderId only, and refuses a state of another folder', async () => {
    const root = await alice.SyncFolderHierarchy(new FolderId(WellKnownFolderName.MsgFolderRoot), shape, '');
    const names = root.GetEnumerator().map((c) => c.Folder?.DisplayName);
    expect(names).toContain('Inbox');
    expect(names).not.toContain('Top of Information Store');
    expect(
      await errorCodeOf(() => alice.SyncFolderHierarchy(new FolderId(WellKnownFolderName.Root), shape, root.SyncState)),
    ).toBe('ErrorInvalidSyncStateData');
  });

  it('answers ErrorInvalidSyncStateData for a state it did not issue, and for one from before a reset', async () => {
    const answer = await soap(
      emulator,
      '<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>' +
        '<m:SyncState>bm90IGEgc3luYyBzdGF0ZQ==</m:SyncState></m:SyncFolderHierarchy>',
      { impersonate: 'alice@contoso.test' },
    );
    expect(codeOf(answer)).toBe('ErrorInvalidSyncStateData');
    const bob = ewsService(emulator, 'bob@contoso.test');
    const state = (await bob.SyncFolderHierarchy(shape, '')).SyncState;
    emulator.admin.reset('bob@contoso.test');
    expect(await errorCodeOf(() => bob.SyncFolderHierarchy(shape, state))).toBe('ErrorInvalidSyncStateData');
    // A sync from the beginning is how a client recovers.
    expect((await bob.SyncFolderHierarchy(shape, '')).Count).toBeGreaterThan(10);
  });

  it('answers the AdditionalProperties of an IdOnly FolderShape', async () => {
    const answer = await soap(
      emulator,
      '<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>' +
        '<t:FieldURI FieldURI="folder:DisplayName"/></t:AdditionalProperties></m:FolderShape></m:SyncFolderHierarchy>',
      { impersonate: 'alice@contoso.test' },
    );
    expect(codeOf(answer)).toBe('NoError');
    expect(answer.text).toContain('<t:DisplayName>Inbox</t:DisplayName>');
    expect(answer.text).not.toContain('<t:TotalCount>');
  });

  it('answers IncludesLastFolderInRange and Create elements in schema order (raw SOAP)', async () => {
    const answer = await soap(
      emulator,
      '<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>' +
        '<m:SyncFolderId><t:DistinguishedFolderId Id="msgfolderroot"/></m:SyncFolderId></m:SyncFolderHierarchy>',
      { impersonate: 'alice@contoso.test' },
    );
    expect(codeOf(answer)).toBe('NoError');
    expect(answer.text).toMatch(
      /<m:SyncState>[^<]+<\/m:SyncState><m:IncludesLastFolderInRange>true<\/m:IncludesLastFolderInRange><m:Changes><t:Create><t:Folder>/,
    );
    expect(answer.text).toContain('<t:Create><t:CalendarFolder>');
  });

  it('answers a folder gone as a Delete and a new one as a Create (a data file whose Journal was removed)', async () => {
    const dataFile = join(mkdtempSync(join(tmpdir(), 'exh-sync-hierarchy-')), 'mailboxes.json');
    const before = await startEmulator({ port: 0, dataFile });
    const state = (await ewsService(before, 'alice@contoso.test').SyncFolderHierarchy(shape, '')).SyncState;
    await before.close();
    const saved = JSON.parse(readFileSync(dataFile, 'utf8')) as {
      mailboxes: { address: string; folders: { id: string; distinguished?: string }[] }[];
    };
    const mailbox = saved.mailboxes.find((m) => m.address === 'alice@contoso.test');
    const journal = mailbox?.folders.find((f) => f.distinguished === 'journal');
    if (!mailbox || !journal) throw new Error('no Journal folder in the data file');
    mailbox.folders = mailbox.folders.filter((f) => f !== journal);
    writeFileSync(dataFile, JSON.stringify(saved));

    // Loading it, the emulator gives the mailbox a new Journal (a new id): the old one is gone.
    const after = await startTestEmulator({ dataFile });
    const changes = (await ewsService(after, 'alice@contoso.test').SyncFolderHierarchy(shape, state)).GetEnumerator();
    expect(changes.map((c) => [ChangeType[c.ChangeType], c.Folder?.DisplayName ?? c.FolderId?.UniqueId])).toEqual([
      ['Create', 'Journal'],
      ['Delete', journal.id],
    ]);
  });
});
