import { describe, expect, it } from 'vitest';
import { ewsSimpleTypes } from '../../../emulator/soap/generated/ews-schema.js';
import { codeOf, soap, startTestEmulator } from '../support/harness.js';

/**
 * Every property path types.xsd allows may be asked for by name (issue 16, finding 3): each item FieldURI of
 * UnindexedFieldURIType, each IndexedFieldURI of DictionaryURIType and ExtendedFieldURIs, in GetItem, FindItem and
 * SyncFolderItems. A property the item has is answered with its value; one it does not have (a Contact's path on a
 * Message, a property the emulator does not keep) is left out, never ErrorInvalidPropertyRequest. Raw SOAP, and every
 * answer is checked against messages.xsd by the harness.
 */
const emulator = await startTestEmulator();
const alice = 'alice@contoso.test';
const call = (body: string) => soap(emulator, body, { impersonate: alice });

const itemUris = (ewsSimpleTypes['t:UnindexedFieldURIType']?.e ?? []).filter((uri) => !uri.startsWith('folder:'));
const dictionaryUris = ewsSimpleTypes['t:DictionaryURIType']?.e ?? [];
const allPaths = [
  ...itemUris.map((uri) => `<t:FieldURI FieldURI="${uri}"/>`),
  ...dictionaryUris.map((uri) => `<t:IndexedFieldURI FieldURI="${uri}" FieldIndex="EmailAddress1"/>`),
  '<t:ExtendedFieldURI PropertyTag="0x1000" PropertyType="String"/>',
  '<t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="x-exh" PropertyType="Integer"/>',
].join('');
const shape = (paths: string) =>
  `<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>${paths}</t:AdditionalProperties></m:ItemShape>`;

async function create(folder: string, item: string, attributes: string): Promise<string> {
  const answer = await call(
    `<m:CreateItem${attributes}><m:SavedItemFolderId><t:DistinguishedFolderId Id="${folder}"/></m:SavedItemFolderId><m:Items>${item}</m:Items></m:CreateItem>`,
  );
  const id = /<t:ItemId Id="([^"]+)"/.exec(answer.text)?.[1];
  if (!id) throw new Error(`CreateItem failed: ${answer.text}`);
  return id;
}

const getItem = (id: string, paths: string) =>
  call(`<m:GetItem>${shape(paths)}<m:ItemIds><t:ItemId Id="${id}"/></m:ItemIds></m:GetItem>`);

const meeting = await create(
  'calendar',
  '<t:CalendarItem><t:Subject>Planning</t:Subject><t:Start>2026-03-02T10:00:00Z</t:Start><t:End>2026-03-02T11:00:00Z</t:End></t:CalendarItem>',
  ' SendMeetingInvitations="SendToNone"',
);
const contact = await create(
  'contacts',
  '<t:Contact><t:GivenName>Carol</t:GivenName><t:EmailAddresses><t:Entry Key="EmailAddress1">carol@contoso.test</t:Entry></t:EmailAddresses></t:Contact>',
  '',
);
const message = await create(
  'drafts',
  '<t:Message><t:Subject>Draft</t:Subject></t:Message>',
  ' MessageDisposition="SaveOnly"',
);

describe('every property path the schema allows (issue 16, finding 3)', () => {
  it('answers calendar:AdjacentMeetings and contacts:Alias, which Exchange knows, instead of refusing them', async () => {
    const adjacent = await getItem(
      meeting,
      '<t:FieldURI FieldURI="calendar:AdjacentMeetings"/><t:FieldURI FieldURI="item:Subject"/>',
    );
    expect(codeOf(adjacent)).toBe('NoError');
    expect(adjacent.text).toContain('<t:Subject>Planning</t:Subject>');
    const alias = await getItem(
      contact,
      '<t:FieldURI FieldURI="contacts:Alias"/><t:FieldURI FieldURI="contacts:GivenName"/>',
    );
    expect(codeOf(alias)).toBe('NoError');
    expect(alias.text).toContain('<t:GivenName>Carol</t:GivenName>');
  });

  it(`accepts all ${itemUris.length} item FieldURIs, the ${dictionaryUris.length} IndexedFieldURIs and ExtendedFieldURIs in GetItem of each kind`, async () => {
    expect(itemUris.length).toBeGreaterThan(300);
    for (const id of [meeting, contact, message]) {
      const answer = await getItem(id, allPaths);
      expect(answer.status).toBe(200);
      expect(codeOf(answer)).toBe('NoError');
    }
  });

  it("leaves a Contact's property out of a Message, and answers what the message has", async () => {
    const answer = await getItem(
      message,
      '<t:FieldURI FieldURI="contacts:GivenName"/><t:FieldURI FieldURI="item:Subject"/>',
    );
    expect(codeOf(answer)).toBe('NoError');
    expect(answer.text).toContain('<t:Subject>Draft</t:Subject>');
    expect(answer.text).not.toContain('GivenName');
  });

  it('accepts every path in FindItem and SyncFolderItems too', async () => {
    for (const folder of ['calendar', 'contacts', 'drafts']) {
      const found = await call(
        `<m:FindItem Traversal="Shallow">${shape(allPaths)}<m:ParentFolderIds><t:DistinguishedFolderId Id="${folder}"/></m:ParentFolderIds></m:FindItem>`,
      );
      expect(codeOf(found), folder).toBe('NoError');
      const synced = await call(
        `<m:SyncFolderItems>${shape(allPaths)}<m:SyncFolderId><t:DistinguishedFolderId Id="${folder}"/></m:SyncFolderId><m:MaxChangesReturned>100</m:MaxChangesReturned></m:SyncFolderItems>`,
      );
      expect(codeOf(synced), folder).toBe('NoError');
    }
  });

  it('still refuses a folder property asked of an item, and a name outside the schema', async () => {
    expect(codeOf(await getItem(message, '<t:FieldURI FieldURI="folder:DisplayName"/>'))).toBe(
      'ErrorInvalidPropertyRequest',
    );
    expect(codeOf(await getItem(message, '<t:FieldURI FieldURI="item:Bogus"/>'))).toBe('ErrorSchemaValidation');
  });
});

describe('paths in restrictions and sort orders (issue 16, finding 3)', () => {
  it('compares and sorts by any item FieldURI, a property the items do not have being absent', async () => {
    const find = (inner: string) =>
      call(
        `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>${inner}<m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>`,
      );
    const restricted = await find(
      '<m:Restriction><t:IsEqualTo><t:FieldURI FieldURI="contacts:Alias"/><t:FieldURIOrConstant><t:Constant Value="x"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>',
    );
    expect(codeOf(restricted)).toBe('NoError');
    expect(restricted.text).toContain('TotalItemsInView="0"');
    const sorted = await find(
      '<m:SortOrder><t:FieldOrder Order="Ascending"><t:FieldURI FieldURI="calendar:AdjacentMeetingCount"/></t:FieldOrder></m:SortOrder>',
    );
    expect(codeOf(sorted)).toBe('NoError');
    expect(sorted.text).toContain(meeting);
  });
});
