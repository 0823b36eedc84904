import { describe, expect, it } from 'vitest';
import { soap, startTestEmulator } from '../support/harness.js';

/** ConvertId (ops/convert-id.ts), folders in a FolderShape with AdditionalProperties and the distinguished folders. */

const emulator = await startTestEmulator();
const alice = 'alice@contoso.test';

function convert(ids: string, destination: string, options: { impersonate?: string; account?: string } = {}) {
  return soap(
    emulator,
    `<m:ConvertId DestinationFormat="${destination}"><m:SourceIds>${ids}</m:SourceIds></m:ConvertId>`,
    options,
  );
}

function alternateIds(text: string): { format: string; id: string; mailbox: string }[] {
  return [...text.matchAll(/<m:AlternateId [^>]*?Format="(\w+)" Id="([^"]*)" Mailbox="([^"]*)"/g)].map((m) => ({
    format: m[1] ?? '',
    id: m[2] ?? '',
    mailbox: m[3] ?? '',
  }));
}

function codes(text: string): string[] {
  return [...text.matchAll(/<m:ResponseCode>(\w+)<\/m:ResponseCode>/g)].map((m) => m[1] ?? '');
}

function unescapeXml(value: string): string {
  return value
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
}

const formats = ['EwsId', 'EwsLegacyId', 'EntryId', 'HexEntryId', 'StoreId', 'OwaId'];

describe('ConvertId', () => {
  it('converts an item id into every format and each back to the same EwsId', async () => {
    const item = emulator.admin.createItem(alice, { kind: 'Task', Subject: 'convert me' });
    const ewsId = item?.id ?? '';
    for (const format of formats) {
      const there = await convert(`<t:AlternateId Format="EwsId" Id="${ewsId}" Mailbox="${alice}"/>`, format, {
        impersonate: alice,
      });
      expect(there.status).toBe(200);
      expect(there.text).toContain('<h:ServerVersionInfo');
      const [converted] = alternateIds(there.text);
      expect(converted?.format).toBe(format);
      expect(converted?.mailbox).toBe(alice);
      if (format === 'HexEntryId') expect(converted?.id).toMatch(/^[0-9A-F]+$/);
      if (format === 'EwsId') expect(converted?.id).toBe(ewsId);
      const back = await convert(
        `<t:AlternateId Format="${format}" Id="${converted?.id}" Mailbox="${alice}"/>`,
        'EwsId',
        { impersonate: alice },
      );
      expect([format, alternateIds(back.text)[0]?.id && unescapeXml(alternateIds(back.text)[0]?.id ?? '')]).toEqual([
        format,
        ewsId,
      ]);
    }
  });

  it('answers exchangelib version probe with an error message and ServerVersionInfo, also for the service account', async () => {
    const probe = await convert('<t:AlternateId Format="EwsId" Id="DUMMY" Mailbox="DUMMY"/>', 'EntryId');
    expect(probe.status).toBe(200);
    expect(probe.text).toContain('<h:ServerVersionInfo');
    expect(codes(probe.text)).toEqual(['ErrorInvalidIdMalformed']);
  });

  it('answers each source id on its own: unknown mailbox, archive, public folder, malformed legacy id', async () => {
    const folder = await soap(
      emulator,
      '<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>' +
        '<m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>',
      { impersonate: alice },
    );
    const inboxId = /<t:FolderId Id="([^"]+)"/.exec(folder.text)?.[1] ?? '';
    const answer = await convert(
      `<t:AlternateId Format="EwsId" Id="${inboxId}" Mailbox="${alice}"/>` +
        `<t:AlternateId Format="EwsId" Id="${inboxId}" Mailbox="nobody@contoso.test"/>` +
        `<t:AlternateId Format="EwsId" Id="${inboxId}" Mailbox="${alice}" IsArchive="true"/>` +
        '<t:AlternatePublicFolderId Format="EwsId" FolderId="AQMkAAAAAAAAAAAAAAAAAAAAAAAA"/>' +
        `<t:AlternateId Format="EwsLegacyId" Id="${inboxId}" Mailbox="${alice}"/>`,
      'HexEntryId',
    );
    expect(codes(answer.text)).toEqual([
      'NoError',
      'ErrorNonExistentMailbox',
      'ErrorArchiveMailboxNotEnabled',
      'ErrorFolderNotFound',
      'ErrorInvalidIdMalformedEwsLegacyIdFormat',
    ]);
  });
});

describe('folders in a FolderShape', () => {
  it('answers AdditionalProperties with IdOnly in GetFolder and FindFolder', async () => {
    const shape =
      '<m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>' +
      '<t:FieldURI FieldURI="folder:DisplayName"/><t:FieldURI FieldURI="folder:FolderClass"/>' +
      '<t:FieldURI FieldURI="folder:ChildFolderCount"/><t:FieldURI FieldURI="folder:TotalCount"/>' +
      '<t:FieldURI FieldURI="folder:UnreadCount"/><t:FieldURI FieldURI="folder:DistinguishedFolderId"/>' +
      '</t:AdditionalProperties></m:FolderShape>';
    const get = await soap(
      emulator,
      `<m:GetFolder>${shape}<m:FolderIds><t:DistinguishedFolderId Id="syncissues"/></m:FolderIds></m:GetFolder>`,
      { impersonate: alice },
    );
    expect(get.text).toMatch(
      /<t:Folder><t:FolderId [^>]+\/><t:FolderClass>IPF\.Note<\/t:FolderClass><t:DisplayName>Sync Issues<\/t:DisplayName><t:TotalCount>0<\/t:TotalCount><t:ChildFolderCount>3<\/t:ChildFolderCount><t:DistinguishedFolderId>syncissues<\/t:DistinguishedFolderId><t:UnreadCount>0<\/t:UnreadCount><\/t:Folder>/,
    );
    const find = await soap(
      emulator,
      `<m:FindFolder Traversal="Shallow">${shape}<m:ParentFolderIds><t:DistinguishedFolderId Id="contacts"/>` +
        '</m:ParentFolderIds></m:FindFolder>',
      { impersonate: alice },
    );
    const classes = [...find.text.matchAll(/<t:FolderClass>([^<]+)</g)].map((m) => m[1]);
    expect(classes.sort()).toEqual([
      'IPF.Contact.MOC.ImContactList',
      'IPF.Contact.MOC.QuickContacts',
      'IPF.Contact.RecipientCache',
    ]);
  });

  it('refuses a property that is not a folder property', async () => {
    const answer = await soap(
      emulator,
      '<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>' +
        '<t:FieldURI FieldURI="item:Subject"/></t:AdditionalProperties></m:FolderShape>' +
        '<m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>',
      { impersonate: alice },
    );
    expect(codes(answer.text)).toEqual(['ErrorInvalidPropertyRequest']);
  });

  it('has the distinguished folders Exchange creates, with their classes; no public folders, no archive', async () => {
    const classes: Record<string, string | undefined> = {
      notes: 'IPF.StickyNote',
      journal: 'IPF.Journal',
      conflicts: 'IPF.Note',
      deleteditems: 'IPF.Note',
      junkemail: 'IPF.Note',
      outbox: 'IPF.Note',
      sentitems: 'IPF.Note',
      drafts: 'IPF.Note',
      calendar: 'IPF.Appointment',
      contacts: 'IPF.Contact',
      tasks: 'IPF.Task',
      syncissues: 'IPF.Note',
      localfailures: 'IPF.Note',
      serverfailures: 'IPF.Note',
      todosearch: 'IPF.Task',
      voicemail: 'IPF.Note.Microsoft.Voicemail',
      msgfolderroot: undefined,
      root: undefined,
      searchfolders: undefined,
      recoverableitemsroot: undefined,
      recoverableitemsdeletions: undefined,
      recoverableitemsversions: undefined,
      recoverableitemspurges: undefined,
      recoverableitemsdiscoveryholds: undefined,
    };
    const missing = ['publicfoldersroot', 'archiveroot', 'archivemsgfolderroot', 'archiveinbox'];
    const names = [...Object.keys(classes), ...missing];
    const answer = await soap(
      emulator,
      '<m:GetFolder><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:FolderIds>' +
        names.map((name) => `<t:DistinguishedFolderId Id="${name}"/>`).join('') +
        '</m:FolderIds></m:GetFolder>',
      { impersonate: alice },
    );
    const messages = answer.text.split('<m:GetFolderResponseMessage').slice(1);
    const found = messages.map((message, i) => [
      names[i],
      codes(message)[0],
      /<t:FolderClass>([^<]+)</.exec(message)?.[1],
    ]);
    expect(found).toEqual([
      ...Object.entries(classes).map(([name, folderClass]) => [name, 'NoError', folderClass]),
      ...missing.map((name) => [name, 'ErrorFolderNotFound', undefined]),
    ]);
  });
});
